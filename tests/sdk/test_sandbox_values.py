"""Stytch's sandbox values through the official SDKs, on SQLite and PostgreSQL: every
documented value on every endpoint keystile serves gets Stytch's documented answer in a test
project, without sending anything; what the successes return is real enough for the app's
flow to go on; a live project treats the same values as ordinary input.

Sources: stytch.com/docs/b2b/guides/testing/sandbox-values and
stytch.com/docs/guides/testing/sandbox-values (core/sandbox.py)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
import stytch

from keystile.areas import registry
from keystile.core import sandbox
from tests.flows import error_of, new_email
from tests.support import ProjectInfo, make_project, served_endpoints

EMAIL = "sandbox@stytch.com"
ORG = "organization-test-007d9d4a-deac-4a87-ba0a-e6e8afba4d4b"
ML_OK = "DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94="
ML_401 = "3pzjQpgksDlGKWEwUq2Up--hCHC_0oamfLHyfspKDFU="
ML_404 = "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM="
SESSION_OK = "WJtR5BCy38Szd5AfoDpf0iqFKEt4EE5JhjlWUY7l3FtY"
SESSION_404 = "59cnLELtq5cFVS6uYK9f-pAWzBkhqZl8AvLhbhOvKNWw"
PHONE = "+10000000000"
OTP_CODE = "000000"

# Every documented value of a served endpoint, written out from the two pages: (endpoint,
# request fields, status, error_type).
DOCUMENTED: list[tuple[str, dict[str, str], int, str | None]] = [
    ("POST /v1/b2b/magic_links/email/login_or_signup", {"email_address": EMAIL, "organization_id": ORG}, 200, None),
    ("POST /v1/b2b/magic_links/email/invite", {"email_address": EMAIL, "organization_id": ORG}, 200, None),
    ("POST /v1/b2b/magic_links/authenticate", {"magic_links_token": ML_OK}, 200, None),
    ("POST /v1/b2b/magic_links/authenticate", {"magic_links_token": ML_401}, 401, "unable_to_auth_magic_link"),
    ("POST /v1/b2b/magic_links/authenticate", {"magic_links_token": ML_404}, 404, "magic_link_not_found"),
    ("POST /v1/b2b/magic_links/email/discovery/send", {"email_address": EMAIL}, 200, None),
    ("POST /v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": ML_OK}, 200, None),
    (
        "POST /v1/b2b/magic_links/discovery/authenticate",
        {"discovery_magic_links_token": ML_401},
        401,
        "unable_to_auth_magic_link",
    ),
    (
        "POST /v1/b2b/magic_links/discovery/authenticate",
        {"discovery_magic_links_token": ML_404},
        404,
        "magic_link_not_found",
    ),
    ("POST /v1/magic_links/email/login_or_create", {"email": EMAIL}, 200, None),
    ("POST /v1/magic_links/email/send", {"email": EMAIL}, 200, None),
    ("POST /v1/magic_links/email/invite", {"email": EMAIL}, 200, None),
    ("POST /v1/magic_links/authenticate", {"token": ML_OK}, 200, None),
    ("POST /v1/magic_links/authenticate", {"token": ML_401}, 401, "unable_to_auth_magic_link"),
    ("POST /v1/magic_links/authenticate", {"token": ML_404}, 404, "magic_link_not_found"),
    ("POST /v1/sessions/authenticate", {"session_token": SESSION_OK}, 200, None),
    ("POST /v1/sessions/authenticate", {"session_token": SESSION_404}, 404, "session_not_found"),
    ("POST /v1/otps/sms/send", {"phone_number": PHONE}, 200, None),
    ("POST /v1/otps/sms/login_or_create", {"phone_number": PHONE}, 200, None),
    ("POST /v1/otps/whatsapp/send", {"phone_number": PHONE}, 200, None),
    ("POST /v1/otps/whatsapp/login_or_create", {"phone_number": PHONE}, 200, None),
    ("POST /v1/otps/email/send", {"email": EMAIL}, 200, None),
    ("POST /v1/otps/email/login_or_create", {"email": EMAIL}, 200, None),
    # With the method id the sandbox send returned (_otp_authenticate).
    ("POST /v1/otps/authenticate", {"code": OTP_CODE}, 200, None),
    # With any password (_with_password).
    ("POST /v1/passwords", {"email": EMAIL}, 200, None),
    ("POST /v1/passwords/authenticate", {"email": EMAIL}, 200, None),
    ("POST /v1/oauth/authenticate", {"token": "hdPVZHHX0UoRa7hJTuuPHi1vlddffSnoweRbVFf5-H8g"}, 200, None),
    (
        "POST /v1/oauth/authenticate",
        {"token": "59cnLELtq5cFVS6uYK9f-pAWzBkhqZl8AvLhbhOvKNWw"},
        400,
        "oauth_token_not_found",
    ),
]


def _sdk(product: str, method: str) -> Callable[[Any, Any, dict[str, str]], Any]:
    """Call `method` of the B2B or consumer client with the value's fields."""

    def call(b2b: Any, consumer: Any, fields: dict[str, str]) -> Any:
        target = b2b if product == "b2b" else consumer
        for name in method.split("."):
            target = getattr(target, name)
        return target(**fields)

    return call


def _otp_authenticate(b2b: Any, consumer: Any, fields: dict[str, str]) -> Any:
    """The documented code on the method the sandbox number's send returned."""
    sent = consumer.otps.sms.login_or_create(phone_number=PHONE)
    return consumer.otps.authenticate(method_id=sent.phone_id, **fields)


def _with_password(method: str) -> Callable[[Any, Any, dict[str, str]], Any]:
    """A consumer password call with the value's email and some password."""

    def call(b2b: Any, consumer: Any, fields: dict[str, str]) -> Any:
        return _sdk("consumer", method)(b2b, consumer, {**fields, "password": "tangerine-Vortex-harbor-1987"})

    return call


# The SDK method of each endpoint.
SDK = {
    "POST /v1/b2b/magic_links/email/login_or_signup": _sdk("b2b", "magic_links.email.login_or_signup"),
    "POST /v1/b2b/magic_links/email/invite": _sdk("b2b", "magic_links.email.invite"),
    "POST /v1/b2b/magic_links/authenticate": _sdk("b2b", "magic_links.authenticate"),
    "POST /v1/b2b/magic_links/email/discovery/send": _sdk("b2b", "magic_links.email.discovery.send"),
    "POST /v1/b2b/magic_links/discovery/authenticate": _sdk("b2b", "magic_links.discovery.authenticate"),
    "POST /v1/magic_links/email/login_or_create": _sdk("consumer", "magic_links.email.login_or_create"),
    "POST /v1/magic_links/email/send": _sdk("consumer", "magic_links.email.send"),
    "POST /v1/magic_links/email/invite": _sdk("consumer", "magic_links.email.invite"),
    "POST /v1/magic_links/authenticate": _sdk("consumer", "magic_links.authenticate"),
    "POST /v1/sessions/authenticate": _sdk("consumer", "sessions.authenticate"),
    "POST /v1/otps/sms/send": _sdk("consumer", "otps.sms.send"),
    "POST /v1/otps/sms/login_or_create": _sdk("consumer", "otps.sms.login_or_create"),
    "POST /v1/otps/whatsapp/send": _sdk("consumer", "otps.whatsapp.send"),
    "POST /v1/otps/whatsapp/login_or_create": _sdk("consumer", "otps.whatsapp.login_or_create"),
    "POST /v1/otps/email/send": _sdk("consumer", "otps.email.send"),
    "POST /v1/otps/email/login_or_create": _sdk("consumer", "otps.email.login_or_create"),
    "POST /v1/otps/authenticate": _otp_authenticate,
    "POST /v1/passwords": _with_password("passwords.create"),
    "POST /v1/passwords/authenticate": _with_password("passwords.authenticate"),
    "POST /v1/oauth/authenticate": _sdk("consumer", "oauth.authenticate"),
}


def _id(case: tuple[str, dict[str, str], int, str | None]) -> str:
    endpoint, fields, status, _ = case
    return f"{endpoint.split(' ')[1]}-{status}-{'-'.join(fields)}"


def _clients(project: ProjectInfo, session: requests.Session) -> tuple[Any, Any]:
    base = project.server.base_url
    return (
        stytch.B2BClient(project.project_id, project.secret, environment=base, sync_session=session),
        stytch.Client(project.project_id, project.secret, environment=base, sync_session=session),
    )


def _as_set(values: Any) -> set[tuple[str, frozenset[tuple[str, str]], int, str | None]]:
    return {(v[0], frozenset(v[1].items()), v[2], v[3]) for v in values}


def test_every_documented_value_is_declared_by_the_area_that_serves_its_endpoint():
    declared = _as_set((v.endpoint, v.inputs, v.status_code, v.error_type) for v in registry().sandbox.all)
    assert declared == _as_set(DOCUMENTED)


def test_every_declared_endpoint_is_served_and_no_pending_one_is(server):
    served = {f"{method} {path}" for method, path in served_endpoints(server.app)}
    assert {v.endpoint for v in registry().sandbox.all} <= served
    # A pending value's endpoint, once served, must be declared by its area (and leave PENDING).
    assert not {v.endpoint for v in sandbox.PENDING} & served


@pytest.mark.parametrize("case", DOCUMENTED, ids=_id)
def test_a_documented_value_gets_its_documented_answer_and_sends_nothing(case, b2b, consumer, inbox):
    endpoint, fields, status, error = case
    sent = len(inbox.messages(EMAIL))
    if error is None:
        resp = SDK[endpoint](b2b, consumer, fields)
        assert resp.status_code == 200
    else:
        details = error_of(lambda: SDK[endpoint](b2b, consumer, fields))
        assert (details.status_code, details.error_type) == (status, error)
    assert len(inbox.messages(EMAIL)) == sent


@pytest.mark.parametrize("case", DOCUMENTED, ids=_id)
def test_a_live_project_treats_the_value_as_ordinary_input(case, server, inbox):
    endpoint, fields, _, _ = case
    live = make_project(server, live=True)
    with requests.Session() as session:
        b2b, consumer = _clients(live, session)
        sent = len(inbox.messages(EMAIL))
        try:
            SDK[endpoint](b2b, consumer, fields)
            answered: tuple[int, str | None] = (200, None)
        except stytch.core.response_base.StytchError as exc:
            answered = (exc.details.status_code, exc.details.error_type)
    ordinary = {
        # The documented organization is not this project's; unknown tokens are unknown.
        "POST /v1/b2b/magic_links/email/login_or_signup": (404, "organization_not_found"),
        "POST /v1/b2b/magic_links/email/invite": (404, "organization_not_found"),
        "POST /v1/b2b/magic_links/authenticate": (404, "magic_link_not_found"),
        "POST /v1/b2b/magic_links/discovery/authenticate": (404, "magic_link_not_found"),
        "POST /v1/magic_links/authenticate": (404, "magic_link_not_found"),
        "POST /v1/sessions/authenticate": (404, "session_not_found"),
        "POST /v1/oauth/authenticate": (400, "oauth_token_not_found"),
        # A user that does not exist has no email to send to.
        "POST /v1/magic_links/email/send": (404, "email_not_found"),
        "POST /v1/otps/email/send": (404, "email_not_found"),
        # The documented number is no country's.
        "POST /v1/otps/sms/send": (400, "invalid_phone_number"),
        "POST /v1/otps/sms/login_or_create": (400, "invalid_phone_number"),
        "POST /v1/otps/whatsapp/send": (400, "invalid_phone_number"),
        "POST /v1/otps/whatsapp/login_or_create": (400, "invalid_phone_number"),
        "POST /v1/otps/authenticate": (400, "invalid_phone_number"),
        # No such account (and it looks no different from a wrong password).
        "POST /v1/passwords/authenticate": (401, "unauthorized_credentials"),
    }
    assert answered == ordinary.get(endpoint, (200, None))
    if answered[0] == 200 and endpoint != "POST /v1/passwords":  # an ordinary send: the email goes out
        assert len(inbox.messages(EMAIL)) == sent + 1


class TestConsumerFlowGoesOn:
    @pytest.mark.parametrize("channel", ["sms", "whatsapp"])
    def test_the_sandbox_number_and_code_log_the_sandbox_user_in(self, consumer, channel):
        sent = getattr(consumer.otps, channel).login_or_create(phone_number=PHONE)
        resp = consumer.otps.authenticate(method_id=sent.phone_id, code=OTP_CODE, session_duration_minutes=30)
        assert resp.user_id == sent.user_id
        assert resp.session_token == SESSION_OK
        assert resp.user.emails[0].email == EMAIL
        # The sandbox session, which the sandbox user's email started, gains the code's factor.
        texted = [f.phone_number_factor.phone_number for f in resp.session.authentication_factors if f.type == "otp"]
        assert texted == [PHONE]
        assert consumer.sessions.authenticate(session_token=SESSION_OK).user.user_id == sent.user_id

    def test_the_sandbox_address_and_code_log_the_sandbox_user_in(self, consumer):
        sent = consumer.otps.email.login_or_create(email=EMAIL)
        resp = consumer.otps.authenticate(method_id=sent.email_id, code=OTP_CODE, session_duration_minutes=30)
        assert resp.user_id == sent.user_id
        emailed = [f.email_factor.email_address for f in resp.session.authentication_factors if f.type == "otp"]
        assert emailed == [EMAIL]

    def test_the_sandbox_code_opens_no_other_method(self, consumer, inbox):
        """000000 is a sandbox value only on the sandbox number and address: any other
        user's code is checked as ever, in a test project too."""
        email = new_email()
        sent = consumer.otps.email.login_or_create(email=email)
        details = error_of(lambda: consumer.otps.authenticate(method_id=sent.email_id, code=OTP_CODE))
        assert (details.status_code, details.error_type) == (404, "otp_code_not_found")

    def test_the_sandbox_link_logs_the_sandbox_user_into_the_sandbox_session(self, consumer):
        resp = consumer.magic_links.authenticate(token=ML_OK, session_duration_minutes=30)
        assert resp.session_token == SESSION_OK
        assert resp.user.emails[0].email == EMAIL
        assert resp.user.emails[0].verified is True
        assert resp.user.status == "active"
        assert resp.session.authentication_factors[0].email_factor.email_address == EMAIL
        by_token = consumer.sessions.authenticate(session_token=SESSION_OK)
        by_jwt = consumer.sessions.authenticate(session_jwt=resp.session_jwt)
        assert by_token.session.session_id == by_jwt.session.session_id == resp.session.session_id
        assert by_token.user.user_id == resp.user_id

    def test_the_sandbox_send_names_the_sandbox_user(self, consumer):
        sent = consumer.magic_links.email.login_or_create(email=EMAIL)
        logged_in = consumer.magic_links.authenticate(token=ML_OK)
        assert logged_in.user_id == sent.user_id
        assert logged_in.method_id == sent.email_id
        assert logged_in.session_token == ""  # no session asked for
        assert consumer.users.get(user_id=sent.user_id).emails[0].email == EMAIL

    def test_the_sandbox_session_token_always_authenticates_even_after_a_revoke(self, consumer, server):
        first = consumer.sessions.authenticate(session_token=SESSION_OK)
        consumer.sessions.revoke(session_token=SESSION_OK)
        again = consumer.sessions.authenticate(session_token=SESSION_OK)
        assert again.user.user_id == first.user.user_id
        assert again.session.session_id != first.session.session_id
        server.clock.advance(minutes=61)  # past its 60 minutes
        assert consumer.sessions.authenticate(session_token=SESSION_OK).user.user_id == first.user.user_id

    def test_the_sandbox_session_can_be_extended(self, consumer):
        resp = consumer.sessions.authenticate(session_token=SESSION_OK, session_duration_minutes=600)
        assert resp.session.expires_at - resp.session.last_accessed_at == timedelta(minutes=600)

    def test_each_project_has_its_own_sandbox_user_and_session(self, consumer, other_project):
        with requests.Session() as session:
            _, other = _clients(other_project, session)
            theirs = other.sessions.authenticate(session_token=SESSION_OK)
        mine = consumer.sessions.authenticate(session_token=SESSION_OK)
        assert mine.user.user_id != theirs.user.user_id
        assert mine.session.session_id != theirs.session.session_id

    def test_concurrent_first_uses_share_one_session(self, project):
        def authenticate(_: int) -> str:
            with requests.Session() as session:
                _, consumer = _clients(project, session)
                return consumer.sessions.authenticate(session_token=SESSION_OK).session.session_id

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            ids = set(pool.map(authenticate, range(4)))
        assert len(ids) == 1


class TestB2BFlowGoesOn:
    def test_the_sandbox_link_logs_the_sandbox_member_in(self, b2b):
        sent = b2b.magic_links.email.login_or_signup(organization_id=ORG, email_address=EMAIL)
        assert sent.member.email_address == EMAIL
        assert sent.member.status == "active"
        assert sent.member_created is False
        resp = b2b.magic_links.authenticate(magic_links_token=ML_OK)
        assert resp.member_id == sent.member_id
        assert resp.organization_id == sent.organization.organization_id
        assert resp.member_authenticated is True
        session = b2b.sessions.authenticate(session_token=resp.session_token)
        assert session.member.member_id == sent.member_id
        assert session.organization.organization_id == sent.organization.organization_id
        assert b2b.sessions.authenticate(session_jwt=resp.session_jwt).member_session.member_id == sent.member_id

    def test_the_sandbox_invite_names_the_same_member(self, b2b):
        invited = b2b.magic_links.email.invite(organization_id=ORG, email_address=EMAIL)
        sent = b2b.magic_links.email.login_or_signup(organization_id=ORG, email_address=EMAIL)
        assert invited.member_id == sent.member_id
        assert b2b.organizations.get(organization_id=sent.organization.organization_id).organization.organization_name

    def test_the_sandbox_discovery_link_finds_the_sandbox_organization_and_exchanges(self, b2b):
        b2b.magic_links.email.discovery.send(email_address=EMAIL)
        found = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=ML_OK)
        assert found.email_address == EMAIL
        orgs = [d.organization.organization_id for d in found.discovered_organizations]
        sandbox_org = b2b.magic_links.email.login_or_signup(organization_id=ORG, email_address=EMAIL).organization
        assert orgs == [sandbox_org.organization_id]
        exchanged = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=found.intermediate_session_token, organization_id=orgs[0]
        )
        assert exchanged.member.email_address == EMAIL
        assert b2b.sessions.authenticate(session_token=exchanged.session_token).member.email_address == EMAIL

    def test_sandbox_at_stytch_in_an_ordinary_organization_is_ordinary(self, b2b, inbox):
        org = b2b.organizations.create(organization_name="Acme", email_invites="ALL_ALLOWED").organization
        sent = len(inbox.messages(EMAIL))
        invited = b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=EMAIL)
        assert invited.member.status == "invited"
        assert len(inbox.messages(EMAIL)) == sent + 1

    def test_a_member_of_another_email_is_not_in_the_sandbox(self, b2b):
        email = new_email("bob")
        details = error_of(lambda: b2b.magic_links.email.login_or_signup(organization_id=ORG, email_address=email))
        assert details.error_type == "organization_not_found"
