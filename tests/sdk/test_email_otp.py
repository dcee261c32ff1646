"""B2B email OTP through the official SDK: `otps.email.login_or_signup` emails a 6-digit code
(read back from the dev inbox) that `otps.email.authenticate` takes once as a primary factor,
so the organization's MFA policy applies; `otps.email.discovery.send` / `.authenticate` give an
intermediate session and the organizations the address may enter. A code works once, before
it expires, while it is the newest, and dies after five wrong tries."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyotp
import requests
import stytch
from stytch.core.response_base import StytchError

from tests.flows import error_of, jit_org, make_org, new_email
from tests.support import Inbox, ProjectInfo, call


def latest_code(inbox: Inbox, email: str) -> str:
    found = re.search(r"\b(\d{6})\b", inbox.latest(email)["text"])
    assert found, inbox.latest(email)["text"]
    return found.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def advance(project: ProjectInfo, duration: str) -> None:
    resp = call(project, "POST", "/dev/clock/advance", json={"duration": duration})
    assert resp.status_code == 200, resp.text


def member_of(b2b: Any, org_id: str) -> str:
    email = new_email("bob")
    b2b.organizations.members.create(organization_id=org_id, email_address=email)
    return email


def send(b2b: Any, inbox: Inbox, org_id: str, email: str, **kwargs: Any) -> tuple[Any, str]:
    sent = b2b.otps.email.login_or_signup(organization_id=org_id, email_address=email, **kwargs)
    return sent, latest_code(inbox, email)


class TestOrganizationLogin:
    def test_a_code_logs_a_member_in_and_verifies_the_email(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        sent, code = send(b2b, inbox, org.organization_id, email)
        assert sent.member_created is False and sent.member.email_address == email
        assert "Acme" in inbox.latest(email)["subject"] and "expires in 10 minutes" in inbox.latest(email)["text"]
        done = b2b.otps.email.authenticate(organization_id=org.organization_id, email_address=email, code=code)
        assert done.member_authenticated is True and done.session_token and done.session_jwt
        assert done.method_id and done.organization_id == org.organization_id
        assert done.member.status == "active" and done.member.email_address_verified is True
        factors = done.member_session.authentication_factors
        assert [(f.type, f.delivery_method) for f in factors] == [("otp", "email")]
        assert factors[0].email_factor.email_address == email
        assert factors[0].email_factor.email_id == done.method_id
        assert b2b.sessions.authenticate(session_token=done.session_token).member.member_id == done.member_id

    def test_jit_signup_creates_a_pending_member_and_the_code_activates_it(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("newcomer")
        sent, code = send(b2b, inbox, org.organization_id, email)
        assert sent.member_created is True and sent.member.status == "pending"
        assert "sign" in inbox.latest(email)["subject"].lower()
        done = b2b.otps.email.authenticate(organization_id=org.organization_id, email_address=email, code=code)
        assert done.member.status == "active" and done.member_authenticated is True

    def test_without_jit_a_stranger_gets_no_code(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email("stranger")
        refused = error_of(
            lambda: b2b.otps.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        )
        assert (refused.status_code, refused.error_type) == (403, "email_jit_provisioning_not_allowed")
        assert inbox.messages(email) == []

    def test_an_invited_member_joins_with_a_code(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email("guest")
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        _, code = send(b2b, inbox, org.organization_id, email)
        done = b2b.otps.email.authenticate(organization_id=org.organization_id, email_address=email, code=code)
        assert done.member.status == "active" and done.session_token

    def test_an_mfa_organization_gives_an_intermediate_session(self, b2b, inbox):
        org = make_org(b2b, inbox)
        b2b.organizations.update(organization_id=org.organization_id, mfa_policy="REQUIRED_FOR_ALL")
        email = member_of(b2b, org.organization_id)
        _, code = send(b2b, inbox, org.organization_id, email)
        done = b2b.otps.email.authenticate(organization_id=org.organization_id, email_address=email, code=code)
        assert done.member_authenticated is False and done.member_session is None
        assert done.session_token == "" and done.intermediate_session_token
        assert done.mfa_required is not None
        # The intermediate session carries the email code into the TOTP that completes the login.
        totp = b2b.totps.create(organization_id=org.organization_id, member_id=done.member_id)
        finished = b2b.totps.authenticate(
            organization_id=org.organization_id,
            member_id=done.member_id,
            code=pyotp.TOTP(totp.secret).now(),
            intermediate_session_token=done.intermediate_session_token,
        )
        kinds = [(f.type, f.delivery_method) for f in finished.member_session.authentication_factors]
        assert kinds == [("otp", "email"), ("totp", "authenticator_app")]

    def test_a_restricted_organization_without_email_otp_sends_nothing(self, b2b, inbox):
        org = make_org(b2b, inbox)
        b2b.organizations.update(
            organization_id=org.organization_id, auth_methods="RESTRICTED", allowed_auth_methods=["magic_link"]
        )
        email = member_of(b2b, org.organization_id)
        refused = error_of(
            lambda: b2b.otps.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        )
        assert refused.error_type == "operation_restricted_by_organization_auth_methods"
        assert inbox.messages(email) == []

    def test_expiration_is_two_to_fifteen_minutes(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        for minutes in (1, 16):
            refused = error_of(
                lambda minutes=minutes: b2b.otps.email.login_or_signup(
                    organization_id=org.organization_id, email_address=email, login_expiration_minutes=minutes
                )
            )
            assert (refused.status_code, refused.error_type) == (400, "invalid_expiration_minutes")


class TestCodes:
    def test_a_wrong_code_is_refused_and_the_right_one_still_works(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        _, code = send(b2b, inbox, org.organization_id, email)
        kwargs = {"organization_id": org.organization_id, "email_address": email}
        refused = error_of(lambda: b2b.otps.email.authenticate(**kwargs, code=wrong(code)))
        assert (refused.status_code, refused.error_type) == (404, "otp_code_not_found")
        assert b2b.otps.email.authenticate(**kwargs, code=code).session_token

    def test_a_code_works_once(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        _, code = send(b2b, inbox, org.organization_id, email)
        kwargs = {"organization_id": org.organization_id, "email_address": email, "code": code}
        assert b2b.otps.email.authenticate(**kwargs).session_token
        assert error_of(lambda: b2b.otps.email.authenticate(**kwargs)).error_type == "otp_code_not_found"

    def test_a_new_send_supersedes_the_last_code(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        _, first = send(b2b, inbox, org.organization_id, email)
        _, second = send(b2b, inbox, org.organization_id, email)
        kwargs = {"organization_id": org.organization_id, "email_address": email}
        if first != second:
            assert (
                error_of(lambda: b2b.otps.email.authenticate(**kwargs, code=first)).error_type == "otp_code_not_found"
            )
        assert b2b.otps.email.authenticate(**kwargs, code=second).session_token

    def test_a_code_expires(self, b2b, inbox, project):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        _, code = send(b2b, inbox, org.organization_id, email, login_expiration_minutes=2)
        advance(project, "2m1s")
        kwargs = {"organization_id": org.organization_id, "email_address": email, "code": code}
        assert error_of(lambda: b2b.otps.email.authenticate(**kwargs)).error_type == "otp_code_not_found"

    def test_a_code_of_another_organization_or_project_is_refused(self, b2b, inbox, other_project):
        org = make_org(b2b, inbox)
        other_org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        b2b.organizations.members.create(organization_id=other_org.organization_id, email_address=email)
        _, code = send(b2b, inbox, org.organization_id, email)
        elsewhere = error_of(
            lambda: b2b.otps.email.authenticate(
                organization_id=other_org.organization_id, email_address=email, code=code
            )
        )
        assert elsewhere.error_type == "otp_code_not_found"
        other = stytch.B2BClient(
            other_project.project_id, other_project.secret, environment=other_project.server.base_url
        )
        refused = error_of(
            lambda: other.otps.email.authenticate(organization_id=org.organization_id, email_address=email, code=code)
        )
        assert refused.status_code == 404
        assert b2b.otps.email.authenticate(organization_id=org.organization_id, email_address=email, code=code)

    def test_a_code_dies_after_five_wrong_tries(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        _, code = send(b2b, inbox, org.organization_id, email)
        kwargs = {"organization_id": org.organization_id, "email_address": email}
        statuses = [
            error_of(lambda: b2b.otps.email.authenticate(**kwargs, code=wrong(code))).status_code for _ in range(5)
        ]
        assert statuses == [404] * 5
        assert error_of(lambda: b2b.otps.email.authenticate(**kwargs, code=code)).status_code == 429
        _, fresh = send(b2b, inbox, org.organization_id, email)  # a new code is a new count
        assert b2b.otps.email.authenticate(**kwargs, code=fresh).session_token

    def test_twenty_concurrent_authenticates_of_one_code_give_one_success(self, b2b, inbox, project):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        _, code = send(b2b, inbox, org.organization_id, email)

        def attempt(_: int) -> int:
            with requests.Session() as session:
                client = stytch.B2BClient(
                    project.project_id, project.secret, environment=project.server.base_url, sync_session=session
                )
                try:
                    client.otps.email.authenticate(organization_id=org.organization_id, email_address=email, code=code)
                    return 200
                except StytchError as exc:
                    return exc.details.status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(attempt, range(20)))
        assert results.count(200) == 1, results
        assert set(results) <= {200, 404, 429}, results


class TestDiscovery:
    def test_a_discovery_code_lists_the_organizations(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = member_of(b2b, org.organization_id)
        b2b.otps.email.discovery.send(email_address=email)
        assert "expires in 10 minutes" in inbox.latest(email)["text"]
        found = b2b.otps.email.discovery.authenticate(email_address=email, code=latest_code(inbox, email))
        assert found.email_address == email and found.intermediate_session_token
        assert [o.organization.organization_id for o in found.discovered_organizations] == [org.organization_id]
        joined = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=found.intermediate_session_token, organization_id=org.organization_id
        )
        assert joined.member_authenticated is True and joined.session_token
        assert [f.type for f in joined.member_session.authentication_factors] == ["otp"]

    def test_a_discovery_code_creates_an_organization(self, b2b, inbox):
        email = new_email("founder")
        b2b.otps.email.discovery.send(email_address=email)
        found = b2b.otps.email.discovery.authenticate(email_address=email, code=latest_code(inbox, email))
        created = b2b.discovery.organizations.create(
            intermediate_session_token=found.intermediate_session_token, organization_name="Fresh"
        )
        assert created.member_authenticated is True and created.member.email_address == email

    def test_discovery_codes_are_single_use_superseded_expiring_and_bounded(self, b2b, inbox, project):
        email = new_email("finder")
        b2b.otps.email.discovery.send(email_address=email)
        first = latest_code(inbox, email)
        b2b.otps.email.discovery.send(email_address=email, discovery_expiration_minutes=2)
        second = latest_code(inbox, email)
        if first != second:
            superseded = error_of(lambda: b2b.otps.email.discovery.authenticate(email_address=email, code=first))
            assert (superseded.status_code, superseded.error_type) == (404, "otp_code_not_found")
        assert b2b.otps.email.discovery.authenticate(email_address=email, code=second).intermediate_session_token
        reused = error_of(lambda: b2b.otps.email.discovery.authenticate(email_address=email, code=second))
        assert reused.error_type == "otp_code_not_found"
        b2b.otps.email.discovery.send(email_address=email, discovery_expiration_minutes=2)
        late = latest_code(inbox, email)
        advance(project, "2m1s")
        assert (
            error_of(lambda: b2b.otps.email.discovery.authenticate(email_address=email, code=late)).status_code == 404
        )
        b2b.otps.email.discovery.send(email_address=email)
        code = latest_code(inbox, email)
        tries = [
            error_of(lambda: b2b.otps.email.discovery.authenticate(email_address=email, code=wrong(code))).status_code
            for _ in range(5)
        ]
        assert tries == [404] * 5
        assert (
            error_of(lambda: b2b.otps.email.discovery.authenticate(email_address=email, code=code)).status_code == 429
        )

    def test_an_organization_allowing_only_email_otp_takes_a_discovery_code_not_a_link(self, b2b, inbox):
        org = make_org(b2b, inbox)
        b2b.organizations.update(
            organization_id=org.organization_id, auth_methods="RESTRICTED", allowed_auth_methods=["email_otp"]
        )
        email = member_of(b2b, org.organization_id)
        b2b.magic_links.email.discovery.send(email_address=email)
        by_link = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=inbox.latest_token(email))
        held = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=by_link.intermediate_session_token, organization_id=org.organization_id
        )
        assert held.member_authenticated is False and held.primary_required.allowed_auth_methods == ["email_otp"]
        b2b.otps.email.discovery.send(email_address=email)
        found = b2b.otps.email.discovery.authenticate(email_address=email, code=latest_code(inbox, email))
        joined = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=found.intermediate_session_token, organization_id=org.organization_id
        )
        assert joined.member_authenticated is True and joined.session_token


class TestAuthenticateWithAnIntermediateSession:
    """An intermediate session passed to `otps.email.authenticate` is consumed and its factors
    go before the code's, in the session or in the intermediate session that asks for MFA."""

    def held(self, b2b: Any, inbox: Inbox, **settings: Any) -> tuple[Any, str, str]:
        """An organization that takes only email codes, a Member of it, and the intermediate
        session a discovery magic link gave it there (primary_required)."""
        org = make_org(b2b, inbox)
        b2b.organizations.update(
            organization_id=org.organization_id,
            auth_methods="RESTRICTED",
            allowed_auth_methods=["email_otp"],
            **settings,
        )
        email = member_of(b2b, org.organization_id)
        b2b.magic_links.email.discovery.send(email_address=email)
        ist = b2b.magic_links.discovery.authenticate(
            discovery_magic_links_token=inbox.latest_token(email)
        ).intermediate_session_token
        held = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=org.organization_id
        )
        assert held.member_authenticated is False and held.primary_required.allowed_auth_methods == ["email_otp"]
        return org, email, ist

    def test_its_factors_join_the_session_and_it_is_consumed(self, b2b, inbox):
        org, email, ist = self.held(b2b, inbox)
        _, code = send(b2b, inbox, org.organization_id, email)
        done = b2b.otps.email.authenticate(
            organization_id=org.organization_id, email_address=email, code=code, intermediate_session_token=ist
        )
        assert done.member_authenticated is True and done.session_token
        factors = done.member_session.authentication_factors
        assert [(f.type, f.delivery_method) for f in factors] == [("magic_link", "email"), ("otp", "email")]
        assert factors[0].email_factor.email_address == email
        spent = error_of(
            lambda: b2b.discovery.intermediate_sessions.exchange(
                intermediate_session_token=ist, organization_id=org.organization_id
            )
        )
        assert spent.error_type == "intermediate_session_not_found"

    def test_its_factors_reach_the_session_the_second_factor_completes(self, b2b, inbox):
        org, email, ist = self.held(b2b, inbox, mfa_policy="REQUIRED_FOR_ALL")
        _, code = send(b2b, inbox, org.organization_id, email)
        done = b2b.otps.email.authenticate(
            organization_id=org.organization_id, email_address=email, code=code, intermediate_session_token=ist
        )
        assert done.member_authenticated is False and done.intermediate_session_token not in ("", ist)
        totp = b2b.totps.create(organization_id=org.organization_id, member_id=done.member_id)
        finished = b2b.totps.authenticate(
            organization_id=org.organization_id,
            member_id=done.member_id,
            code=pyotp.TOTP(totp.secret).now(),
            intermediate_session_token=done.intermediate_session_token,
        )
        kinds = [(f.type, f.delivery_method) for f in finished.member_session.authentication_factors]
        assert kinds == [("magic_link", "email"), ("otp", "email"), ("totp", "authenticator_app")]

    def test_a_wrong_code_leaves_it_usable(self, b2b, inbox):
        org, email, ist = self.held(b2b, inbox)
        _, code = send(b2b, inbox, org.organization_id, email)
        kwargs = {"organization_id": org.organization_id, "email_address": email, "intermediate_session_token": ist}
        assert error_of(lambda: b2b.otps.email.authenticate(**kwargs, code=wrong(code))).status_code == 404
        assert b2b.otps.email.authenticate(**kwargs, code=code).member_authenticated is True
