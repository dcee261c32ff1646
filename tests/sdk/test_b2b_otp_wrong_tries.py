"""B2B passcodes die after five wrong tries by their own count in the database, as consumer ones
do, whatever the operator set the rate limits to: on a keystile whose OTP failure limits are
off, five wrong codes then the right one is refused by `otps.sms.authenticate`,
`otps.email.authenticate` and `otps.email.discovery.authenticate`, and four leave the code alive."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import stytch

from tests.flows import error_of, make_org, new_email
from tests.sdk import test_email_otp as email_otp
from tests.sdk import test_sms_otp as sms_otp
from tests.support import Inbox, Server, fresh_postgres_url, make_project, require_postgres, start_server

LIMITS_OFF = {
    "sms_otp_code_failures": "",
    "sms_otp_member_failures": "",
    "email_otp_code_failures": "",
    "email_otp_subject_failures": "",
    "token_failures": "",
}


@pytest.fixture(scope="module")
def unlimited(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A keystile of its own whose operator turned the B2B OTP failure limits off."""
    data_dir: Path = tmp_path_factory.mktemp(f"keystile-b2b-otp-{backend}")
    if backend == "postgres":
        require_postgres()
        url = fresh_postgres_url(f"keystile_b2b_otp_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{data_dir / 'keystile.db'}"
    server = start_server(backend, data_dir, url, rate_limits=LIMITS_OFF)
    yield server
    server.stop()


@pytest.fixture
def b2b(unlimited: Server) -> Iterator[Any]:
    project = make_project(unlimited)
    with requests.Session() as session:
        yield stytch.B2BClient(project.project_id, project.secret, environment=unlimited.base_url, sync_session=session)


@pytest.fixture
def inbox(unlimited: Server) -> Inbox:
    return Inbox(unlimited.base_url)


def guesses(code: str, count: int) -> list[str]:
    """`count` different wrong codes."""
    return [f"{(int(code) + step) % 1_000_000:06d}" for step in range(1, count + 1)]


def assert_refused(attempt: Any) -> None:
    refused = error_of(attempt)
    assert (refused.status_code, refused.error_type) == (404, "otp_code_not_found")


class TestSmsAuthenticate:
    def sent(self, b2b: Any, inbox: Inbox) -> tuple[dict[str, Any], str]:
        org = sms_otp.mfa_org(b2b, inbox)
        _, first, code = sms_otp.sent_to_new_number(b2b, inbox, org.organization_id)
        kwargs = {
            "organization_id": org.organization_id,
            "member_id": first.member_id,
            "intermediate_session_token": first.intermediate_session_token,
        }
        return kwargs, code

    def test_five_wrong_codes_kill_the_code(self, b2b, inbox):
        kwargs, code = self.sent(b2b, inbox)
        for guess in guesses(code, 5):
            assert_refused(lambda g=guess: b2b.otps.sms.authenticate(**kwargs, code=g))
        assert_refused(lambda: b2b.otps.sms.authenticate(**kwargs, code=code))

    def test_four_wrong_codes_leave_it_alive(self, b2b, inbox):
        kwargs, code = self.sent(b2b, inbox)
        for guess in guesses(code, 4):
            assert_refused(lambda g=guess: b2b.otps.sms.authenticate(**kwargs, code=g))
        assert b2b.otps.sms.authenticate(**kwargs, code=code).session_token


class TestEmailAuthenticate:
    def sent(self, b2b: Any, inbox: Inbox) -> tuple[dict[str, Any], str]:
        org = make_org(b2b, inbox)
        email = email_otp.member_of(b2b, org.organization_id)
        _, code = email_otp.send(b2b, inbox, org.organization_id, email)
        return {"organization_id": org.organization_id, "email_address": email}, code

    def test_five_wrong_codes_kill_the_code(self, b2b, inbox):
        kwargs, code = self.sent(b2b, inbox)
        for guess in guesses(code, 5):
            assert_refused(lambda g=guess: b2b.otps.email.authenticate(**kwargs, code=g))
        assert_refused(lambda: b2b.otps.email.authenticate(**kwargs, code=code))
        _, fresh = email_otp.send(b2b, inbox, kwargs["organization_id"], kwargs["email_address"])
        assert b2b.otps.email.authenticate(**kwargs, code=fresh).session_token  # a new code is a new count

    def test_four_wrong_codes_leave_it_alive(self, b2b, inbox):
        kwargs, code = self.sent(b2b, inbox)
        for guess in guesses(code, 4):
            assert_refused(lambda g=guess: b2b.otps.email.authenticate(**kwargs, code=g))
        assert b2b.otps.email.authenticate(**kwargs, code=code).session_token


class TestEmailDiscoveryAuthenticate:
    def sent(self, b2b: Any, inbox: Inbox) -> tuple[str, str]:
        email = new_email("finder")
        b2b.otps.email.discovery.send(email_address=email)
        return email, email_otp.latest_code(inbox, email)

    def test_five_wrong_codes_kill_the_code(self, b2b, inbox):
        email, code = self.sent(b2b, inbox)
        for guess in guesses(code, 5):
            assert_refused(lambda g=guess: b2b.otps.email.discovery.authenticate(email_address=email, code=g))
        assert_refused(lambda: b2b.otps.email.discovery.authenticate(email_address=email, code=code))

    def test_four_wrong_codes_leave_it_alive(self, b2b, inbox):
        email, code = self.sent(b2b, inbox)
        for guess in guesses(code, 4):
            assert_refused(lambda g=guess: b2b.otps.email.discovery.authenticate(email_address=email, code=g))
        assert b2b.otps.email.discovery.authenticate(email_address=email, code=code).intermediate_session_token
