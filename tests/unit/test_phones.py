"""Phone numbers (core/phones.py) and the Twilio URL (core/twilio.py): pure functions."""

from __future__ import annotations

import pytest

from keystile import errors
from keystile.config import Settings
from keystile.core import phones
from keystile.core.twilio import TextFailure, TwilioTarget

SID = "AC" + "0" * 32


class TestNormalize:
    @pytest.mark.parametrize(
        ("typed", "e164"),
        [
            ("+12025550142", "+12025550142"),
            (" +1 (202) 555-0142 ", "+12025550142"),
            ("+1.202.555.0142", "+12025550142"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+44 7911 123456", "+447911123456"),
        ],
    )
    def test_gives_e164(self, typed, e164):
        assert phones.normalize(typed) == e164

    @pytest.mark.parametrize(
        "bad",
        [
            "12025550142",
            "2025550142",
            "+1202555014",
            "+10000000000",
            "+1 nope",
            "",
            "+",
            "++12025550142",
            "+1" + "2" * 70,
        ],
    )
    def test_refuses_what_is_not_a_number_with_stytchs_error(self, bad):
        with pytest.raises(errors.InvalidPhoneNumber) as caught:
            phones.normalize(bad)
        assert (caught.value.status_code, caught.value.error_type) == (400, "invalid_phone_number")


class TestCountries:
    def test_country_of_tells_the_regions_that_share_plus_one_apart(self):
        assert phones.country_of("+12025550142") == "US"
        assert phones.country_of("+16135550123") == "CA"
        assert phones.country_of("+18765550123") == "JM"

    def test_the_default_is_stytchs_us_and_canada(self):
        assert phones.DEFAULT_COUNTRY_CODES == ("US", "CA")

    def test_clean_country_codes_upper_cases_sorts_and_dedupes(self):
        assert phones.clean_country_codes(["gb", "US", " us "]) == ["GB", "US"]

    def test_clean_country_codes_refuses_an_unknown_code(self):
        with pytest.raises(ValueError, match="'XX'"):
            phones.clean_country_codes(["US", "XX"])


class TestTwilioURL:
    def test_account_token_and_sender(self):
        target = TwilioTarget.parse(f"twilio://{SID}:tok%2Fen@api.twilio.com?from=%2B12025550100")
        assert target.messages_url == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
        assert (target.username, target.password) == (SID, "tok/en")
        assert target.form("sms", "+12025550142", "hi") == {"To": "+12025550142", "From": "+12025550100", "Body": "hi"}

    def test_a_plus_typed_as_is_stays_a_plus(self):
        assert TwilioTarget.parse(f"twilio://{SID}:t@api.twilio.com?from=+12025550100").sms_from == "+12025550100"

    def test_a_messaging_service_instead_of_a_number(self):
        target = TwilioTarget.parse(f"twilio://{SID}:t@api.twilio.com?messaging_service_sid=MG123")
        assert target.form("sms", "+12025550142", "hi")["MessagingServiceSid"] == "MG123"
        assert "From" not in target.form("sms", "+12025550142", "hi")
        assert target.form("whatsapp", "+12025550142", "hi")["To"] == "whatsapp:+12025550142"

    def test_whatsapp_sender(self):
        target = TwilioTarget.parse(f"twilio://{SID}:t@api.twilio.com?from=%2B12025550100&whatsapp_from=%2B14155238886")
        assert target.form("whatsapp", "+12025550142", "hi") == {
            "To": "whatsapp:+12025550142",
            "From": "whatsapp:+14155238886",
            "Body": "hi",
        }
        assert target.sender("whatsapp") == "whatsapp:+14155238886"
        assert target.sender("sms") == "+12025550100"

    def test_an_api_key_with_the_account_sid_in_the_query(self):
        target = TwilioTarget.parse(f"twilio://SK123:secret@api.twilio.com?from=%2B12025550100&account_sid={SID}")
        assert target.username == "SK123"
        assert f"/Accounts/{SID}/" in target.messages_url

    def test_plain_http_only_when_asked(self):
        target = TwilioTarget.parse(f"twilio+http://{SID}:t@127.0.0.1:8080?from=%2B12025550100")
        assert target.messages_url.startswith("http://127.0.0.1:8080/2010-04-01/")

    def test_no_whatsapp_sender_fails_that_message_for_good(self):
        target = TwilioTarget.parse(f"twilio://{SID}:t@api.twilio.com?from=%2B12025550100")
        with pytest.raises(TextFailure) as caught:
            target.form("whatsapp", "+12025550142", "hi")
        assert caught.value.permanent

    @pytest.mark.parametrize(
        ("url", "problem"),
        [
            ("https://api.twilio.com", "must look like"),
            (f"twilio://{SID}@api.twilio.com?from=%2B12025550100", "auth token"),
            (f"twilio://{SID}:t@api.twilio.com", "names no sender"),
            (f"twilio://{SID}:t@api.twilio.com?from=12345", "not an E.164"),
            (f"twilio://{SID}:t@api.twilio.com?messaging_service_sid=XX1", "must start with MG"),
            (f"twilio://{SID}:t@api.twilio.com?from=%2B12025550100&to=x", "unknown parameter"),
        ],
    )
    def test_refuses_a_malformed_url(self, url, problem):
        with pytest.raises(ValueError, match=problem):
            TwilioTarget.parse(url)

    def test_settings_refuse_a_malformed_url_at_start_up(self):
        with pytest.raises(ValueError, match="names no sender"):
            Settings(sms_url=f"twilio://{SID}:t@api.twilio.com")

    def test_settings_keep_the_url_secret(self):
        settings = Settings(sms_url=f"twilio://{SID}:very-secret@api.twilio.com?from=%2B12025550100")
        assert "very-secret" not in repr(settings)
