"""Consumer one-time passcodes through the official SDK: otps.sms / otps.whatsapp /
otps.email send and login_or_create, otps.authenticate, users.delete_phone_number and the
User object's `phone_numbers`. Codes are read from the dev inbox, as a developer's test would."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
import requests
import stytch

from tests.flows import error_of, new_email
from tests.support import (
    Inbox,
    ProjectInfo,
    Server,
    call,
    fresh_postgres_url,
    make_project,
    require_postgres,
    start_server,
)


def new_number(region: str = "US") -> str:
    """A valid number of `region`, E.164, unlikely to be used by another test."""
    while True:
        if region == "US":
            candidate = f"+1202{random.randint(200, 999)}{random.randint(0, 9999):04d}"
        else:
            candidate = f"+447{random.randint(400, 999)}{random.randint(0, 999999):06d}"
        parsed = phonenumbers.parse(candidate, None)
        if phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == region:
            return candidate


def latest_code(inbox: Inbox, to: str) -> str:
    """The 6-digit code of the latest text or email to `to`."""
    found = re.search(r"\b(\d{6})\b", inbox.latest(to)["text"])
    assert found, inbox.latest(to)
    return found.group(1)


def advance(project: ProjectInfo, seconds: int) -> None:
    resp = call(project, "POST", "/dev/clock/advance", json={"seconds": seconds})
    assert resp.status_code == 200, resp.text


def test_sms_login_or_create_creates_a_user_and_the_code_starts_a_session(consumer, inbox):
    number = new_number()
    sent = consumer.otps.sms.login_or_create(phone_number=number)
    assert sent.user_created and sent.phone_id.startswith("phone-number-test-")
    message = inbox.latest(number)
    assert message["channel"] == "sms" and "expires in 2 minutes" in message["text"]
    user = consumer.users.get(user_id=sent.user_id)
    assert [(p.phone_id, p.phone_number, p.verified) for p in user.phone_numbers] == [(sent.phone_id, number, False)]

    done = consumer.otps.authenticate(
        method_id=sent.phone_id, code=latest_code(inbox, number), session_duration_minutes=30
    )
    assert done.user_id == sent.user_id and done.method_id == sent.phone_id
    assert done.user.phone_numbers[0].verified
    factor = done.session.authentication_factors[0]
    assert (factor.type, factor.delivery_method) == ("otp", "sms")
    assert factor.phone_number_factor.phone_id == sent.phone_id
    assert factor.phone_number_factor.phone_number == number
    assert consumer.sessions.authenticate(session_token=done.session_token).session.user_id == sent.user_id

    again = consumer.otps.sms.login_or_create(phone_number=number)
    assert (again.user_id, again.phone_id, again.user_created) == (sent.user_id, sent.phone_id, False)


def test_whatsapp_and_email_codes_log_in_with_their_own_factor(consumer, inbox):
    number = new_number()
    sent = consumer.otps.whatsapp.login_or_create(phone_number=number, expiration_minutes=5)
    message = inbox.latest(number)
    assert message["channel"] == "whatsapp" and "expires in 5 minutes" in message["text"]
    done = consumer.otps.authenticate(
        method_id=sent.phone_id, code=latest_code(inbox, number), session_duration_minutes=5
    )
    factor = done.session.authentication_factors[0]
    assert (factor.type, factor.delivery_method) == ("otp", "whatsapp")

    email = new_email("otp")
    by_email = consumer.otps.email.login_or_create(email=email)
    assert by_email.user_created and by_email.email_id.startswith("email-test-")
    done = consumer.otps.authenticate(
        method_id=by_email.email_id, code=latest_code(inbox, email), session_duration_minutes=5
    )
    factor = done.session.authentication_factors[0]
    assert (factor.type, factor.delivery_method) == ("otp", "email")
    assert factor.email_factor.email_address == email
    assert done.user.emails[0].verified

    resent = consumer.otps.email.send(email=email)
    assert (resent.user_id, resent.email_id) == (by_email.user_id, by_email.email_id)


def test_send_needs_a_known_number_or_a_user_to_attach_it_to(consumer, inbox):
    number = new_number()
    assert error_of(lambda: consumer.otps.sms.send(phone_number=number)).error_type == "phone_number_not_found"
    assert error_of(lambda: consumer.otps.email.send(email=new_email("nobody"))).error_type == "email_not_found"
    user_id = consumer.users.create(email=new_email("attach")).user_id
    sent = consumer.otps.sms.send(phone_number=number, user_id=user_id)
    assert sent.user_id == user_id
    other = consumer.users.create(email=new_email("other")).user_id
    taken = error_of(lambda: consumer.otps.sms.send(phone_number=number, user_id=other))
    assert taken.error_type == "duplicate_phone_number"
    done = consumer.otps.authenticate(method_id=sent.phone_id, code=latest_code(inbox, number))
    assert done.session is None and done.session_token == "" and done.user_id == user_id


def test_a_code_adds_its_factor_to_an_existing_session(consumer, inbox):
    number = new_number()
    sent = consumer.otps.sms.login_or_create(phone_number=number)
    first = consumer.otps.authenticate(
        method_id=sent.phone_id, code=latest_code(inbox, number), session_duration_minutes=30
    )
    email = new_email("second")
    consumer.otps.email.send(email=email, user_id=sent.user_id)
    user = consumer.users.get(user_id=sent.user_id)
    email_id = user.emails[0].email_id
    both = consumer.otps.authenticate(
        method_id=email_id, code=latest_code(inbox, email), session_token=first.session_token
    )
    assert both.session.session_id == first.session.session_id
    assert sorted(f.delivery_method for f in both.session.authentication_factors) == ["email", "sms"]


def test_a_wrong_code_fails_and_the_right_one_still_works_once(consumer, inbox):
    number = new_number()
    sent = consumer.otps.sms.login_or_create(phone_number=number)
    code = latest_code(inbox, number)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    failed = error_of(lambda: consumer.otps.authenticate(method_id=sent.phone_id, code=wrong))
    assert (failed.status_code, failed.error_type) == (404, "otp_code_not_found")
    assert error_of(lambda: consumer.otps.authenticate(method_id=sent.phone_id, code="abc")).error_type == (
        "otp_code_not_found"
    )
    consumer.otps.authenticate(method_id=sent.phone_id, code=code)
    reused = error_of(lambda: consumer.otps.authenticate(method_id=sent.phone_id, code=code))
    assert reused.error_type == "otp_code_not_found"


def test_a_new_send_supersedes_the_last_code(consumer, inbox):
    number = new_number()
    sent = consumer.otps.sms.login_or_create(phone_number=number)
    first = latest_code(inbox, number)
    consumer.otps.sms.send(phone_number=number)
    second = latest_code(inbox, number)
    if first != second:  # one chance in a million that both sends drew the same code
        assert error_of(lambda: consumer.otps.authenticate(method_id=sent.phone_id, code=first)).error_type == (
            "otp_code_not_found"
        )
    consumer.otps.authenticate(method_id=sent.phone_id, code=second)


def test_a_code_expires_after_its_minutes(consumer, inbox, project):
    number = new_number()
    sent = consumer.otps.sms.login_or_create(phone_number=number)
    advance(project, 121)
    assert error_of(
        lambda: consumer.otps.authenticate(method_id=sent.phone_id, code=latest_code(inbox, number))
    ).error_type == ("otp_code_not_found")
    consumer.otps.sms.send(phone_number=number, expiration_minutes=10)
    advance(project, 9 * 60)
    consumer.otps.authenticate(method_id=sent.phone_id, code=latest_code(inbox, number))


def test_expiration_minutes_is_bounded_by_one_and_ten(consumer):
    number = new_number()
    for minutes in (0, 11):
        refused = error_of(
            lambda m=minutes: consumer.otps.sms.login_or_create(phone_number=number, expiration_minutes=m)
        )
        assert refused.error_type == "invalid_argument"


def test_of_twenty_concurrent_authenticates_of_one_code_exactly_one_succeeds(project, inbox):
    client = stytch.Client(project.project_id, project.secret, environment=project.server.base_url)
    number = new_number()
    sent = client.otps.sms.login_or_create(phone_number=number)
    code = latest_code(inbox, number)

    def attempt(_: int) -> Any:
        resp = requests.post(
            f"{project.server.base_url}v1/otps/authenticate",
            json={"method_id": sent.phone_id, "code": code, "session_duration_minutes": 5},
            auth=project.auth,
            timeout=60,
        )
        return resp.status_code, resp.json().get("error_type")

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(attempt, range(20)))
    assert [status for status, _ in results].count(200) == 1, results
    # The losers found no live code; past a few, the number's failure limit answers 429.
    assert all(
        (status, kind) in ((404, "otp_code_not_found"), (429, "too_many_requests"))
        for status, kind in results
        if status != 200
    ), results


def test_guessing_is_refused_after_a_few_wrong_codes(consumer, inbox):
    number = new_number()
    sent = consumer.otps.sms.login_or_create(phone_number=number)
    code = latest_code(inbox, number)
    wrong = [f"{(int(code) + step) % 1_000_000:06d}" for step in range(1, 6)]
    for guess in wrong:
        assert error_of(lambda g=guess: consumer.otps.authenticate(method_id=sent.phone_id, code=g)).status_code == 404
    refused = error_of(lambda: consumer.otps.authenticate(method_id=sent.phone_id, code=code))
    assert (refused.status_code, refused.error_type) == (429, "too_many_requests")


@pytest.fixture(scope="module")
def unlimited(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A keystile of its own whose operator turned the OTP failure limit off."""
    data_dir: Path = tmp_path_factory.mktemp(f"keystile-otp-{backend}")
    if backend == "postgres":
        require_postgres()
        url = fresh_postgres_url(f"keystile_otp_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{data_dir / 'keystile.db'}"
    server = start_server(backend, data_dir, url, rate_limits={"otp_failures": "", "token_failures": ""})
    yield server
    server.stop()


def test_the_code_dies_after_five_wrong_tries_even_without_the_rate_limit(unlimited):
    """Each code keeps its own count of wrong tries in the database: past five, even the right
    code is refused, whatever the operator set the rate limits to."""
    project = make_project(unlimited)
    client = stytch.Client(project.project_id, project.secret, environment=unlimited.base_url)
    number = new_number()
    sent = client.otps.sms.login_or_create(phone_number=number)
    code = latest_code(Inbox(unlimited.base_url), number)
    for step in range(1, 5):
        guess = f"{(int(code) + step) % 1_000_000:06d}"
        assert error_of(lambda g=guess: client.otps.authenticate(method_id=sent.phone_id, code=g)).status_code == 404
    client.otps.authenticate(method_id=sent.phone_id, code=code)  # four wrong tries leave it alive

    client.otps.sms.send(phone_number=number)
    code = latest_code(Inbox(unlimited.base_url), number)
    for step in range(1, 6):
        guess = f"{(int(code) + step) % 1_000_000:06d}"
        assert error_of(lambda g=guess: client.otps.authenticate(method_id=sent.phone_id, code=g)).status_code == 404
    dead = error_of(lambda: client.otps.authenticate(method_id=sent.phone_id, code=code))
    assert (dead.status_code, dead.error_type) == (404, "otp_code_not_found")


def test_a_country_outside_the_allowlist_is_refused(consumer, inbox):
    number = new_number("GB")
    refused = error_of(lambda: consumer.otps.sms.login_or_create(phone_number=number))
    assert refused.error_type == "invalid_phone_number_country_code"
    assert inbox.messages(number) == []
    assert (
        error_of(lambda: consumer.otps.sms.login_or_create(phone_number="12345")).error_type == "invalid_phone_number"
    )


def test_delete_phone_number_removes_it_and_its_code(consumer, inbox, other_project):
    number = new_number()
    sent = consumer.otps.sms.login_or_create(phone_number=number)
    code = latest_code(inbox, number)
    other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
    assert (
        error_of(lambda: other.users.delete_phone_number(phone_id=sent.phone_id)).error_type == "phone_number_not_found"
    )
    deleted = consumer.users.delete_phone_number(phone_id=sent.phone_id)
    assert deleted.user_id == sent.user_id and deleted.user.phone_numbers == []
    assert error_of(lambda: consumer.otps.authenticate(method_id=sent.phone_id, code=code)).error_type == (
        "otp_code_not_found"
    )
    assert error_of(lambda: consumer.users.delete_phone_number(phone_id=sent.phone_id)).error_type == (
        "phone_number_not_found"
    )


def test_users_create_takes_a_phone_number_and_search_finds_it(consumer, inbox, other_project):
    number = new_number()
    created = consumer.users.create(phone_number=number.replace("+1", "+1 "), create_user_as_pending=True)
    assert created.phone_id.startswith("phone-number-test-") and created.email_id == ""
    assert [(p.phone_number, p.verified) for p in created.user.phone_numbers] == [(number, False)]
    taken = error_of(lambda: consumer.users.create(phone_number=number, email=new_email("dup")))
    assert taken.error_type == "duplicate_phone_number"
    assert error_of(lambda: consumer.users.create(phone_number="+1 555")).error_type == "invalid_phone_number"

    def search(name: str, value: Any) -> list[str]:
        query = {"operator": "AND", "operands": [{"filter_name": name, "filter_value": value}]}
        return [u.user_id for u in consumer.users.search(query=query).results]

    assert search("phone_number", [number]) == [created.user_id]
    assert search("phone_number", [number.lstrip("+")]) == [created.user_id]
    assert search("phone_id", [created.phone_id]) == [created.user_id]
    assert search("phone_number_fuzzy", number[-7:]) == [created.user_id]
    assert search("phone_verified", True) == []

    sent = consumer.otps.sms.login_or_create(phone_number=number)
    assert (sent.user_id, sent.user_created) == (created.user_id, False)
    done = consumer.otps.authenticate(method_id=sent.phone_id, code=latest_code(inbox, number))
    assert done.user.status == "active"
    assert search("phone_verified", True) == [created.user_id]
    other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
    query = {"operator": "AND", "operands": [{"filter_name": "phone_number", "filter_value": [number]}]}
    assert other.users.search(query=query).results == []
