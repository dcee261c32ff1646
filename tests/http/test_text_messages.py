"""SMS and WhatsApp through the outbox, on SQLite and PostgreSQL.

No endpoint sends a text yet (the OTP areas will), so these tests call the core API as an
area will: `outbox.enqueue` in a request's transaction with a project of a running keystile.
One keystile per backend delivers through Twilio's Messages API to a local server that speaks
it (tests/twilio_fake.py); the shared test server has no SMS provider, so its texts stay in
the dev inbox.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
import requests
from sqlalchemy import select

from keystile import errors
from keystile.core import outbox
from keystile.core.area import Message
from keystile.core.context import Context, LazyConnection, Project, close_context
from keystile.models.outbox import outbox as outbox_table
from tests.support import (
    Server,
    fresh_postgres_url,
    keystile_in_process,
    make_project,
    require_postgres,
    start_server,
)
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, twilio_error

SMS = Message("passcode", "", channel="sms")
WHATSAPP = Message("passcode", "", channel="whatsapp")
EMAIL = Message("discovery_magic_link", "Your login link")
MAX_ATTEMPTS = 3
SENDER = "+12025550100"
WHATSAPP_SENDER = "+14155238886"


def new_number(region: str = "US") -> str:
    """A valid, unused-looking number of `region`, E.164."""
    while True:
        if region == "US":
            candidate = f"+1202{random.randint(200, 999)}{random.randint(0, 9999):04d}"
        elif region == "GB":
            candidate = f"+447{random.randint(400, 999)}{random.randint(0, 999999):06d}"
        elif region == "JM":
            candidate = f"+1876{random.randint(200, 999)}{random.randint(0, 9999):04d}"
        else:
            raise ValueError(region)
        parsed = phonenumbers.parse(candidate, None)
        if phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == region:
            return candidate


class Rollback(Exception):
    """Raised after enqueueing: the request failed, its transaction rolls back."""


def enqueue(
    server: Server,
    project: Any,
    message: Message,
    to: str,
    *,
    roll_back: bool = False,
    clock_offset: timedelta = timedelta(0),
    **values: Any,
) -> str:
    """`outbox.enqueue` as an area calls it, in a request's transaction on the server's loop."""

    async def work() -> str:
        state = server.state
        ctx = Context(
            state=state,
            conn=LazyConnection(state.db),
            project=Project(project.project_id, "Acme", False, project.public_token, clock_offset=clock_offset),
            request_id=f"request-id-test-{uuid.uuid4()}",
        )
        try:
            message_id = await outbox.enqueue(ctx, message, to=to, **values)
            if roll_back:
                raise Rollback(message_id)
        except BaseException as exc:
            await close_context(ctx, exc)
            raise
        await close_context(ctx, None)
        return message_id

    return server.run(work())


def code_values() -> dict[str, Any]:
    return {"code": f"{random.randint(0, 999999):06d}", "expiration_minutes": 2}


def outbox_row(server: Server, message_id: str) -> Any:
    async def read() -> Any:
        async with server.state.transaction() as conn:
            return (await conn.execute(select(outbox_table).where(outbox_table.c.message_id == message_id))).first()

    return server.run(read())


def rows_to(server: Server, number: str) -> list[Any]:
    async def read() -> list[Any]:
        async with server.state.transaction() as conn:
            return list((await conn.execute(select(outbox_table).where(outbox_table.c.to_normalized == number))).all())

    return server.run(read())


def wait_status(server: Server, message_id: str, status: str, timeout: float = 15) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while True:
        row = outbox_row(server, message_id)
        if (row is not None and row.status == status) or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def texting(backend: str, twilio: FakeTwilio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A keystile of its own that sends texts through the fake Twilio (and no email by SMTP)."""
    data_dir: Path = tmp_path_factory.mktemp(f"keystile-sms-{backend}")
    if backend == "postgres":
        require_postgres()
        url = fresh_postgres_url(f"keystile_sms_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{data_dir / 'keystile.db'}"
    server = start_server(backend, data_dir, url, sms_url=twilio.url(), outbox_max_attempts=MAX_ATTEMPTS)
    yield server
    server.stop()


@pytest.fixture
def texter(texting: Server) -> Any:
    return make_project(texting)


def cli(server: Server, *args: str) -> Any:
    settings = {
        "KEYSTILE_DATABASE_URL": server.settings.database_url or "",
        "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
    }
    return keystile_in_process(settings, *args)


class TestDelivery:
    def test_an_sms_reaches_twilio_once_as_its_api_expects(self, texting, texter, twilio):
        number = new_number()
        values = code_values()
        enqueue(texting, texter, SMS, number, **values)

        got = twilio.wait_for(number)
        assert len(got) == 1
        request = got[0]
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        assert (request.username, request.password) == (ACCOUNT_SID, AUTH_TOKEN)
        assert request.form["From"] == SENDER
        assert values["code"] in request.form["Body"]
        assert "Acme" in request.form["Body"]
        assert set(request.form) == {"To", "From", "Body"}

    def test_a_delivered_sms_is_marked_sent(self, texting, texter, twilio):
        number = new_number()
        message_id = enqueue(texting, texter, SMS, number, **code_values())

        row = wait_status(texting, message_id, "sent")
        assert row.status == "sent"
        assert row.channel == "sms"
        assert row.attempts == 1
        assert row.sent_at is not None
        assert row.last_error is None

    def test_whatsapp_goes_to_the_whatsapp_address_from_the_whatsapp_sender(self, texting, texter, twilio):
        number = new_number()
        values = code_values()
        message_id = enqueue(texting, texter, WHATSAPP, number, **values)

        got = twilio.wait_for(f"whatsapp:{number}")
        assert len(got) == 1
        assert got[0].form["From"] == f"whatsapp:{WHATSAPP_SENDER}"
        assert values["code"] in got[0].form["Body"]
        row = wait_status(texting, message_id, "sent")
        assert (row.channel, row.to_address, row.status) == ("whatsapp", number, "sent")

    def test_the_number_is_stored_and_sent_as_e164_however_it_was_typed(self, texting, texter, twilio):
        number = new_number()
        typed = f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}"
        message_id = enqueue(texting, texter, SMS, typed, **code_values())

        assert twilio.wait_for(number)[0].form["To"] == number
        assert outbox_row(texting, message_id).to_address == number

    def test_a_rolled_back_request_sends_nothing(self, texting, texter, twilio):
        number = new_number()
        with pytest.raises(Rollback):
            enqueue(texting, texter, SMS, number, roll_back=True, **code_values())
        # A message enqueued after it is delivered, and the rolled-back one never was.
        other = new_number()
        enqueue(texting, texter, SMS, other, **code_values())
        twilio.wait_for(other)

        assert rows_to(texting, number) == []
        assert twilio.to(number) == []

    def test_a_project_whose_test_clock_moved_ahead_gets_its_text_at_once(self, texting, texter, twilio):
        """Texts are scheduled on the server's time, as emails are, not on the project's moved clock."""
        number = new_number()
        message_id = enqueue(texting, texter, SMS, number, clock_offset=timedelta(days=3), **code_values())

        assert len(twilio.wait_for(number)) == 1
        row = wait_status(texting, message_id, "sent")
        assert row.status == "sent"
        assert abs((row.created_at - texting.clock.now()).total_seconds()) < 60

    def test_metrics_count_texts_by_channel_and_status_apart_from_emails(self, texting, texter, twilio):
        def gauges() -> dict[str, float]:
            text = requests.get(f"{texting.base_url}metrics", timeout=10).text
            found = re.findall(r"^(keystile_(?:texts|emails)\{[^}]*\}) ([0-9.e+]+)$", text, re.M)
            return {name: float(value) for name, value in found}

        before = gauges()
        number = new_number()
        wait_status(texting, enqueue(texting, texter, WHATSAPP, number, **code_values()), "sent")
        enqueue(texting, texter, EMAIL, f"ada-{uuid.uuid4().hex[:8]}@example.com", link="http://localhost/x")
        after = gauges()

        sent = 'keystile_texts{channel="whatsapp",status="sent"}'
        assert after[sent] == before.get(sent, 0) + 1
        assert after['keystile_texts{channel="sms",status="failed"}'] >= 0
        # Without SMTP the email stays in the inbox: it is an email, never a text.
        assert after['keystile_emails{status="inbox"}'] == before.get('keystile_emails{status="inbox"}', 0) + 1


class TestRetries:
    @pytest.mark.parametrize(
        ("status", "body"),
        [
            (500, twilio_error(500, 20500, "Internal Server Error")),
            (503, twilio_error(503, 20503, "Service Unavailable")),
            (429, twilio_error(429, 20429, "Too Many Requests")),
        ],
        ids=["500", "503", "429"],
    )
    def test_a_transient_answer_is_retried_after_the_backoff(self, texting, texter, twilio, status, body):
        number = new_number()
        twilio.script(number, (status, body))
        message_id = enqueue(texting, texter, SMS, number, **code_values())

        twilio.wait_for(number, 1)
        row = wait_status(texting, message_id, "pending")
        assert row.status == "pending"
        assert row.attempts == 1
        assert f"Twilio {status}" in row.last_error
        assert str(body["code"]) in row.last_error

        texting.clock.advance(seconds=11)
        row = wait_status(texting, message_id, "sent")
        assert row.status == "sent"
        assert row.attempts == 2
        assert [r.status for r in twilio.to(number)] == [status, 201]

    def test_a_refused_number_fails_at_once_and_is_not_retried(self, texting, texter, twilio):
        number = new_number()
        twilio.script(number, (400, twilio_error(400, 21211, f"The 'To' number {number} is not a valid phone number.")))
        message_id = enqueue(texting, texter, SMS, number, **code_values())

        row = wait_status(texting, message_id, "failed")
        assert row.status == "failed"
        assert row.attempts == 1
        assert "21211" in row.last_error
        assert row.next_attempt_at is None

        texting.clock.advance(minutes=15)
        enqueue(texting, texter, SMS, (witness := new_number()), **code_values())
        twilio.wait_for(witness)
        assert len(twilio.to(number)) == 1

    def test_after_every_attempt_failed_it_is_failed_and_outbox_retry_sends_it(self, texting, texter, twilio):
        number = new_number()
        unavailable = (503, twilio_error(503, 20503, "Service Unavailable"))
        twilio.script(number, *[unavailable] * MAX_ATTEMPTS)
        message_id = enqueue(texting, texter, SMS, number, **code_values())
        for attempt in range(1, MAX_ATTEMPTS):
            twilio.wait_for(number, attempt)
            wait_status(texting, message_id, "pending")
            texting.clock.advance(minutes=11)
        twilio.wait_for(number, MAX_ATTEMPTS)
        row = wait_status(texting, message_id, "failed")
        assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)

        listed = cli(texting, "outbox", "list", "--failed", "--json")
        assert listed.returncode == 0, listed.stderr
        mine = [m for m in json.loads(listed.stdout) if m["message_id"] == message_id]
        assert len(mine) == 1
        assert mine[0]["channel"] == "sms"
        assert mine[0]["to"] == number
        assert "Twilio 503" in mine[0]["last_error"]

        retried = cli(texting, "outbox", "retry", message_id)
        assert retried.returncode == 0, retried.stderr
        # The CLI wrote to the database; the server's deliverer finds it on its next poll.
        row = wait_status(texting, message_id, "sent")
        assert row.status == "sent"
        assert [r.status for r in twilio.to(number)] == [503] * MAX_ATTEMPTS + [201]


class TestRefusedBeforeWriting:
    def test_an_invalid_number_is_stytchs_invalid_phone_number(self, texting, texter, twilio):
        for bad in ("12025550142", "+1202555014", "+1 nope", "", "+" + "1" * 70):
            with pytest.raises(errors.InvalidPhoneNumber) as caught:
                enqueue(texting, texter, SMS, bad, **code_values())
            assert caught.value.status_code == 400
            assert caught.value.error_type == "invalid_phone_number"

    def test_a_country_outside_the_default_list_is_refused_and_costs_nothing(self, texting, texter, twilio):
        number = new_number("JM")  # +1 876: shares the US calling code, a classic toll-fraud destination

        with pytest.raises(errors.InvalidPhoneNumberCountryCode) as caught:
            enqueue(texting, texter, SMS, number, **code_values())

        assert caught.value.status_code == 400
        assert caught.value.error_type == "invalid_phone_number_country_code"
        assert "JM" in caught.value.message
        assert rows_to(texting, number) == []
        assert twilio.to(number) == []

    def test_whatsapp_obeys_the_same_country_list(self, texting, texter, twilio):
        number = new_number("GB")
        with pytest.raises(errors.InvalidPhoneNumberCountryCode):
            enqueue(texting, texter, WHATSAPP, number, **code_values())
        assert twilio.to(f"whatsapp:{number}") == []

    def test_a_country_the_project_allows_is_sent(self, texting, texter, twilio):
        number = new_number("GB")
        done = cli(texting, "projects", "sms-countries", "--project", texter.project_id, "us", "CA", "GB")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["CA", "GB", "US"]

        enqueue(texting, texter, SMS, number, **code_values())
        assert len(twilio.wait_for(number)) == 1

    def test_the_list_is_per_project(self, texting, texter, twilio):
        other = make_project(texting)
        cli(texting, "projects", "sms-countries", "--project", other.project_id, "GB")
        number = new_number("GB")

        with pytest.raises(errors.InvalidPhoneNumberCountryCode):
            enqueue(texting, texter, SMS, number, **code_values())
        with pytest.raises(errors.InvalidPhoneNumberCountryCode):
            enqueue(texting, other, SMS, new_number("US"), **code_values())
        enqueue(texting, other, SMS, number, **code_values())
        assert len(twilio.wait_for(number)) == 1

    def test_an_empty_list_sends_no_text_and_default_restores_us_and_ca(self, texting, texter, twilio):
        cli(texting, "projects", "sms-countries", "--project", texter.project_id, "--none")
        with pytest.raises(errors.InvalidPhoneNumberCountryCode):
            enqueue(texting, texter, SMS, new_number("US"), **code_values())

        done = cli(texting, "projects", "sms-countries", "--project", texter.project_id, "--default", "--json")
        assert json.loads(done.stdout) == {"project_id": texter.project_id, "sms_country_codes": ["US", "CA"]}
        number = new_number("US")
        enqueue(texting, texter, SMS, number, **code_values())
        assert len(twilio.wait_for(number)) == 1

    def test_too_many_texts_to_one_number_answer_429(self, texting, texter, twilio):
        number = new_number()
        for _ in range(10):
            enqueue(texting, texter, SMS, number, **code_values())
        with pytest.raises(errors.TooManyRequests):
            enqueue(texting, texter, SMS, number, **code_values())
        assert len(rows_to(texting, number)) == 10


class TestSMSCountriesCommand:
    def test_shows_the_default_for_a_new_project(self, texting, texter):
        done = cli(texting, "projects", "sms-countries", "--project", texter.project_id)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["US", "CA"]

    def test_refuses_an_unknown_country_code(self, texting, texter):
        done = cli(texting, "projects", "sms-countries", "--project", texter.project_id, "US", "XX")
        assert done.returncode == 2
        assert "'XX'" in done.stderr
        assert cli(texting, "projects", "sms-countries", "--project", texter.project_id).stdout.split() == ["US", "CA"]

    def test_names_a_missing_project(self, texting):
        done = cli(texting, "projects", "sms-countries", "--project", "project-test-nope")
        assert done.returncode == 2
        assert "No project project-test-nope" in done.stderr


class TestDevInbox:
    """The shared test server has no SMS provider: texts stay in the dev inbox."""

    def test_a_text_is_listed_by_its_number_in_the_email_shape_with_a_channel(self, server, project, inbox):
        number = new_number()
        values = code_values()
        message_id = enqueue(server, project, SMS, number, **values)

        resp = requests.get(f"{server.base_url}dev/inbox/messages", params={"to": number}, timeout=10)
        messages = resp.json()["messages"]
        assert len(messages) == 1
        got = messages[0]
        assert got["id"] == message_id
        assert got["channel"] == "sms"
        assert got["to"] == number
        assert values["code"] in got["text"]
        assert got["subject"] == ""
        assert got["html"] == ""
        assert got["links"] == []
        assert got["from"] == ""

    def test_the_filter_takes_the_number_as_a_person_types_it(self, server, project):
        number = new_number()
        enqueue(server, project, WHATSAPP, number, **code_values())
        typed = f"+1 {number[2:5]} {number[5:8]} {number[8:]}"

        messages = requests.get(f"{server.base_url}dev/inbox/messages", params={"to": typed}, timeout=10).json()[
            "messages"
        ]
        assert [m["channel"] for m in messages] == ["whatsapp"]
        assert messages[0]["to"] == number

    def test_the_query_string_form_of_the_issue_works(self, server, project):
        number = new_number()
        enqueue(server, project, SMS, number, **code_values())
        url = f"{server.base_url}dev/inbox/messages?to={number.replace('+', '%2B')}"
        assert [m["to"] for m in requests.get(url, timeout=10).json()["messages"]] == [number]

    def test_texts_and_emails_have_the_same_fields(self, server, project):
        number = new_number()
        email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
        enqueue(server, project, SMS, number, **code_values())
        enqueue(server, project, EMAIL, email, link="http://localhost:3000/authenticate?token=x")

        text = requests.get(f"{server.base_url}dev/inbox/messages", params={"to": number}, timeout=10).json()
        mail = requests.get(f"{server.base_url}dev/inbox/messages", params={"to": email}, timeout=10).json()
        assert text["messages"][0].keys() == mail["messages"][0].keys()
        assert mail["messages"][0]["channel"] == "email"

    def test_the_page_lists_texts_beside_emails(self, server, project):
        number = new_number()
        values = code_values()
        message_id = enqueue(server, project, SMS, number, **values)
        email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
        enqueue(server, project, EMAIL, email, link="http://localhost:3000/authenticate?token=x")

        page = requests.get(f"{server.base_url}dev/inbox", timeout=10)
        assert page.status_code == 200
        article = re.search(rf'<article id="{message_id}">(.*?)</article>', page.text, re.S)
        assert article, "the text is not on the page"
        assert ">SMS<" in article.group(1)
        assert values["code"] in article.group(1)
        assert number in article.group(1)

        filtered = requests.get(f"{server.base_url}dev/inbox", params={"to": number}, timeout=10).text
        assert message_id in filtered
        assert email not in filtered

    def test_an_inbox_text_is_never_handed_to_a_deliverer(self, server, project):
        number = new_number()
        message_id = enqueue(server, project, SMS, number, **code_values())
        row = outbox_row(server, message_id)
        assert (row.status, row.next_attempt_at, row.channel) == ("inbox", None, "sms")


class TestConfigFile:
    def test_keystile_toml_sets_the_projects_sms_country_codes(self, tmp_path):
        from keystile.config import load_file_config

        path = tmp_path / "keystile.toml"
        path.write_text(
            "[[projects]]\n"
            'project_id = "project-test-sms-countries"\n'
            'secret = "secret-test-0123456789abcdefghijklmnop"\n'
            'sms_country_codes = ["us", "GB"]\n'
        )
        assert load_file_config(path).projects[0].sms_country_codes == ["GB", "US"]

    def test_keystile_toml_refuses_an_unknown_country_code(self, tmp_path):
        from keystile.config import ConfigFileError, load_file_config

        path = tmp_path / "keystile.toml"
        path.write_text(
            "[[projects]]\n"
            'project_id = "project-test-sms-countries"\n'
            'secret = "secret-test-0123456789abcdefghijklmnop"\n'
            'sms_country_codes = ["US", "ZZ"]\n'
        )
        with pytest.raises(ConfigFileError) as caught:
            load_file_config(path)
        assert "line 4" in str(caught.value)
        assert "'ZZ'" in str(caught.value)


def test_keystile_toml_applies_the_sms_country_codes_at_start_up(tmp_path):
    """`keystile serve --config` makes the database hold the file's list; the CLI then shows it."""
    import asyncio

    from keystile.app import prepare
    from keystile.config import Settings
    from keystile.core.state import make_state

    config = tmp_path / "keystile.toml"
    config.write_text(
        "[[projects]]\n"
        'project_id = "project-test-sms-countries"\n'
        'secret = "secret-test-0123456789abcdefghijklmnop"\n'
        'sms_country_codes = ["GB", "US", "FR"]\n'
    )
    settings = Settings(env="dev", data_dir=tmp_path, config_file=config, auto_migrate=True)

    async def once() -> None:
        state = make_state(settings)
        try:
            await prepare(state)
        finally:
            await state.engine.dispose()

    asyncio.run(once())
    shown = keystile_in_process(
        {"KEYSTILE_DATA_DIR": str(tmp_path)}, "projects", "sms-countries", "--project", "project-test-sms-countries"
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["FR", "GB", "US"]


def test_a_network_failure_is_retried(tmp_path_factory):
    """A Twilio that cannot be reached (nothing listens on its port) is a transient failure.
    The deliverer's path is the same on both databases, so one SQLite server of its own shows it."""
    data_dir = tmp_path_factory.mktemp("keystile-sms-down")
    from tests.support import free_port

    dead = f"twilio+http://{ACCOUNT_SID}:{AUTH_TOKEN}@127.0.0.1:{free_port()}?from=%2B12025550100"
    server = start_server("sqlite", data_dir, f"sqlite:///{data_dir / 'k.db'}", sms_url=dead)
    try:
        project = make_project(server)
        message_id = enqueue(server, project, SMS, new_number(), **code_values())
        row = wait_status(server, message_id, "pending")
        for _ in range(100):
            row = outbox_row(server, message_id)
            if row.attempts >= 1 and row.status == "pending" and row.last_error:
                break
            import time

            time.sleep(0.05)
        assert row.status == "pending"
        assert row.attempts == 1
        assert "ConnectError" in row.last_error
    finally:
        server.stop()
