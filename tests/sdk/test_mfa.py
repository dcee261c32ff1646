"""MFA through the official SDK: every B2B login ends in one place that applies the
organization's MFA policy (sessions/logins.py), and TOTP and recovery codes complete it."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyotp
import pytest
import requests
import stytch
from stytch.b2b.models.organizations_members import DeleteTOTPRequestOptions
from stytch.core.response_base import StytchError

from tests.flows import acting, add_member, discover, discovery_signup, error_of, error_type, login, make_org, new_email


def code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def mfa_org(b2b: Any, inbox: Any, **settings: Any) -> Any:
    org = make_org(b2b, inbox)
    return b2b.organizations.update(
        organization_id=org.organization_id, mfa_policy="REQUIRED_FOR_ALL", **settings
    ).organization


def member_login(b2b: Any, inbox: Any, organization_id: str) -> tuple[str, Any]:
    """A new Member of the organization logs in by magic link; its email and the response."""
    email = new_email("bob")
    b2b.organizations.members.create(organization_id=organization_id, email_address=email)
    return email, login(b2b, inbox, organization_id, email)


def enrolled(b2b: Any, inbox: Any, organization_id: str) -> tuple[str, str, Any, str]:
    """A Member of an MFA organization who completed a first login with a new TOTP: its
    email, the TOTP secret, the totps.authenticate response and the code it accepted."""
    email, first = member_login(b2b, inbox, organization_id)
    ist = first.intermediate_session_token
    created = b2b.totps.create(
        organization_id=organization_id, member_id=first.member_id, intermediate_session_token=ist
    )
    used = code(created.secret)
    done = b2b.totps.authenticate(
        organization_id=organization_id,
        member_id=first.member_id,
        code=used,
        intermediate_session_token=ist,
    )
    return email, created.secret, done, used


class TestPolicy:
    def test_required_for_all_answers_a_magic_link_with_an_intermediate_session(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        assert resp.member_authenticated is False
        assert resp.intermediate_session_token
        assert resp.session_token == "" and resp.session_jwt == "" and resp.member_session is None
        assert resp.mfa_required.secondary_auth_initiated is None
        assert resp.mfa_required.member_options.totp_registration_id == ""

    def test_an_optional_policy_logs_an_unenrolled_member_in(self, b2b, inbox):
        org = make_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        assert resp.member_authenticated is True and resp.session_token
        assert resp.mfa_required is None

    def test_an_enrolled_member_needs_a_second_factor_under_optional(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email("bob")
        member = b2b.organizations.members.create(
            organization_id=org.organization_id, email_address=email, mfa_enrolled=True
        ).member
        assert member.mfa_enrolled is True
        resp = login(b2b, inbox, org.organization_id, email)
        assert resp.member_authenticated is False and resp.mfa_required is not None
        b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, mfa_enrolled=False
        )
        assert login(b2b, inbox, org.organization_id, email).member_authenticated is True

    def test_discovery_organization_creation_applies_the_policy(self, b2b, inbox):
        resp = discovery_signup(b2b, inbox, new_email(), mfa_policy="REQUIRED_FOR_ALL")
        assert resp.member_authenticated is False
        assert resp.intermediate_session_token and resp.session_token == ""
        assert resp.mfa_required is not None

    def test_discovery_exchange_applies_the_policy(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        email = new_email("bob")
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        found = discover(b2b, inbox, email)
        [entry] = found.discovered_organizations
        assert entry.mfa_required is not None
        resp = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=found.intermediate_session_token, organization_id=org.organization_id
        )
        assert resp.member_authenticated is False and resp.mfa_required is not None
        assert resp.intermediate_session_token != found.intermediate_session_token
        # The new intermediate session completes with a TOTP into a session of both factors.
        created = b2b.totps.create(organization_id=org.organization_id, member_id=resp.member_id)
        done = b2b.totps.authenticate(
            organization_id=org.organization_id,
            member_id=resp.member_id,
            code=code(created.secret),
            intermediate_session_token=resp.intermediate_session_token,
        )
        assert [f.type for f in done.member_session.authentication_factors] == ["magic_link", "totp"]

    def test_restricted_mfa_methods_refuse_a_totp(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, secret, done, _ = enrolled(b2b, inbox, org.organization_id)
        b2b.organizations.update(
            organization_id=org.organization_id, mfa_methods="RESTRICTED", allowed_mfa_methods=["sms_otp"]
        )
        caught = error_of(
            lambda: b2b.totps.authenticate(
                organization_id=org.organization_id,
                member_id=done.member_id,
                code=code(secret, 1),
                session_token=done.session_token,
            )
        )
        assert caught.status_code == 403
        assert caught.error_type == "operation_restricted_by_organization_mfa_methods"
        again = login(b2b, inbox, org.organization_id, done.member.email_address)
        assert again.mfa_required.member_options.totp_registration_id == ""

    def test_a_default_mfa_method_must_be_registered(self, b2b, inbox):
        org = make_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.update(
                organization_id=org.organization_id, member_id=resp.member_id, default_mfa_method="totp"
            )
        assert error_type(caught) == "default_mfa_member_missing_factor"


class TestTotpAuthenticate:
    def test_a_totp_completes_the_intermediate_session_with_both_factors(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        email, _, done, _ = enrolled(b2b, inbox, org.organization_id)
        assert done.session_token and done.session_jwt
        factors = done.member_session.authentication_factors
        assert [(f.type, f.delivery_method) for f in factors] == [
            ("magic_link", "email"),
            ("totp", "authenticator_app"),
        ]
        assert factors[1].authenticator_app_factor.totp_id == done.member.totp_registration_id
        assert done.member.default_mfa_method == "totp"
        session = b2b.sessions.authenticate(session_token=done.session_token)
        assert len(session.member_session.authentication_factors) == 2
        # The next login offers the registered TOTP.
        again = login(b2b, inbox, org.organization_id, email)
        assert again.mfa_required.member_options.totp_registration_id == done.member.totp_registration_id

    def test_the_intermediate_session_is_single_use(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, first = member_login(b2b, inbox, org.organization_id)
        created = b2b.totps.create(organization_id=org.organization_id, member_id=first.member_id)
        kwargs = {"organization_id": org.organization_id, "member_id": first.member_id}
        b2b.totps.authenticate(
            **kwargs, code=code(created.secret), intermediate_session_token=first.intermediate_session_token
        )
        caught = error_of(
            lambda: b2b.totps.authenticate(
                **kwargs, code=code(created.secret, 1), intermediate_session_token=first.intermediate_session_token
            )
        )
        assert caught.error_type == "intermediate_session_not_found"

    def test_a_wrong_code_is_refused_and_the_intermediate_session_stays_usable(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, first = member_login(b2b, inbox, org.organization_id)
        created = b2b.totps.create(organization_id=org.organization_id, member_id=first.member_id)
        kwargs = {
            "organization_id": org.organization_id,
            "member_id": first.member_id,
            "intermediate_session_token": first.intermediate_session_token,
        }
        caught = error_of(lambda: b2b.totps.authenticate(**kwargs, code=code(created.secret, 5)))
        assert (caught.status_code, caught.error_type) == (401, "unable_to_authenticate_totp")
        assert b2b.totps.authenticate(**kwargs, code=code(created.secret)).session_token

    def test_a_code_is_accepted_once(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        email, _, done, used = enrolled(b2b, inbox, org.organization_id)
        ist = login(b2b, inbox, org.organization_id, email).intermediate_session_token
        caught = error_of(
            lambda: b2b.totps.authenticate(
                organization_id=org.organization_id, member_id=done.member_id, code=used, intermediate_session_token=ist
            )
        )
        assert caught.error_type == "totp_code_already_authenticated"

    def test_one_step_of_drift_is_tolerated(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, first = member_login(b2b, inbox, org.organization_id)
        created = b2b.totps.create(organization_id=org.organization_id, member_id=first.member_id)
        resp = b2b.totps.authenticate(
            organization_id=org.organization_id,
            member_id=first.member_id,
            code=code(created.secret, -1),
            intermediate_session_token=first.intermediate_session_token,
        )
        assert resp.session_token

    def test_another_members_intermediate_session_is_refused(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, mallory = member_login(b2b, inbox, org.organization_id)
        _, secret, done, _ = enrolled(b2b, inbox, org.organization_id)
        caught = error_of(
            lambda: b2b.totps.authenticate(
                organization_id=org.organization_id,
                member_id=done.member_id,
                code=code(secret, 1),
                intermediate_session_token=mallory.intermediate_session_token,
            )
        )
        assert caught.error_type == "invalid_intermediate_session_token_for_organization"

    def test_the_member_of_another_organization_is_not_found(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        other = make_org(b2b, inbox)
        _, secret, done, _ = enrolled(b2b, inbox, org.organization_id)
        caught = error_of(
            lambda: b2b.totps.authenticate(
                organization_id=other.organization_id,
                member_id=done.member_id,
                code=code(secret, 1),
                session_token=done.session_token,
            )
        )
        assert caught.error_type == "member_not_found"

    def test_another_projects_intermediate_session_is_not_found(self, b2b, inbox, other_project):
        org = mfa_org(b2b, inbox)
        _, first = member_login(b2b, inbox, org.organization_id)
        with requests.Session() as session:
            neighbour = stytch.B2BClient(
                other_project.project_id,
                other_project.secret,
                environment=other_project.server.base_url,
                sync_session=session,
            )
            their_org = mfa_org(neighbour, inbox)
            _, theirs = member_login(neighbour, inbox, their_org.organization_id)
            created = neighbour.totps.create(organization_id=their_org.organization_id, member_id=theirs.member_id)
            caught = error_of(
                lambda: neighbour.totps.authenticate(
                    organization_id=their_org.organization_id,
                    member_id=theirs.member_id,
                    code=code(created.secret),
                    intermediate_session_token=first.intermediate_session_token,
                )
            )
        assert caught.error_type == "intermediate_session_not_found"

    def test_a_second_factor_alone_is_no_login(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, secret, done, _ = enrolled(b2b, inbox, org.organization_id)
        caught = error_of(
            lambda: b2b.totps.authenticate(
                organization_id=org.organization_id, member_id=done.member_id, code=code(secret, 1)
            )
        )
        assert caught.error_type == "insufficient_factors"

    def test_a_session_steps_up_with_a_totp(self, b2b, inbox):
        org = make_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        created = b2b.totps.create(
            organization_id=org.organization_id, member_id=resp.member_id, session_token=resp.session_token
        )
        stepped = b2b.totps.authenticate(
            organization_id=org.organization_id,
            member_id=resp.member_id,
            code=code(created.secret),
            session_token=resp.session_token,
            set_mfa_enrollment="enroll",
        )
        assert stepped.member_session.member_session_id == resp.member_session.member_session_id
        assert [f.type for f in stepped.member_session.authentication_factors] == ["magic_link", "totp"]
        assert stepped.member.mfa_enrolled is True

    def test_wrong_codes_are_limited_per_member(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, first = member_login(b2b, inbox, org.organization_id)
        created = b2b.totps.create(organization_id=org.organization_id, member_id=first.member_id)
        kwargs = {
            "organization_id": org.organization_id,
            "member_id": first.member_id,
            "intermediate_session_token": first.intermediate_session_token,
        }
        wrong = code(created.secret, 7)
        statuses = [error_of(lambda: b2b.totps.authenticate(**kwargs, code=wrong)).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        # Even the right code waits for the window.
        assert error_of(lambda: b2b.totps.authenticate(**kwargs, code=code(created.secret))).status_code == 429

    def test_concurrent_authenticates_of_one_code_give_one_success(self, b2b, inbox, project):
        org = make_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        secret = pyotp.random_base32(32)
        b2b.totps.migrate(
            organization_id=org.organization_id, member_id=resp.member_id, secret=secret, recovery_codes=[]
        )
        one = code(secret)

        def attempt(_: int) -> int:
            with requests.Session() as session:
                client = stytch.B2BClient(
                    project.project_id, project.secret, environment=project.server.base_url, sync_session=session
                )
                try:
                    client.totps.authenticate(
                        organization_id=org.organization_id,
                        member_id=resp.member_id,
                        code=one,
                        session_token=resp.session_token,
                    )
                    return 200
                except StytchError as exc:
                    return exc.details.status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(attempt, range(10)))
        assert results.count(200) == 1
        assert set(results) <= {200, 401, 429}


class TestTotpRegistration:
    def test_create_returns_a_secret_a_png_qr_code_and_ten_recovery_codes(self, b2b, inbox):
        org = make_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        created = b2b.totps.create(organization_id=org.organization_id, member_id=resp.member_id)
        assert len(created.secret) == 32 and created.totp_registration_id.startswith("member-totp-test-")
        prefix = "data:image/png;base64,"
        assert created.qr_code.startswith(prefix)
        assert base64.b64decode(created.qr_code[len(prefix) :].strip()).startswith(b"\x89PNG")
        assert len(set(created.recovery_codes)) == 10
        # Not active until a first code proves the authenticator holds the secret.
        assert created.member.totp_registration_id == ""

    def test_an_active_registration_must_be_deleted_first(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, _, done, _ = enrolled(b2b, inbox, org.organization_id)
        caught = error_of(lambda: b2b.totps.create(organization_id=org.organization_id, member_id=done.member_id))
        assert caught.error_type == "active_totp_exists"
        deleted = b2b.organizations.members.delete_totp(organization_id=org.organization_id, member_id=done.member_id)
        assert deleted.member.totp_registration_id == "" and deleted.member.default_mfa_method == ""
        assert b2b.totps.create(organization_id=org.organization_id, member_id=done.member_id).secret

    def test_migrate_imports_a_secret_and_its_recovery_codes(self, b2b, inbox):
        org = make_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        secret = pyotp.random_base32(32)
        migrated = b2b.totps.migrate(
            organization_id=org.organization_id,
            member_id=resp.member_id,
            secret=secret,
            recovery_codes=["aaaa-bbbb-cccc", "dddd-eeee-ffff"],
        )
        assert migrated.member.totp_registration_id == migrated.totp_registration_id
        assert migrated.recovery_codes == ["aaaa-bbbb-cccc", "dddd-eeee-ffff"]
        stepped = b2b.totps.authenticate(
            organization_id=org.organization_id,
            member_id=resp.member_id,
            code=code(secret),
            session_token=resp.session_token,
        )
        assert stepped.member_session.authentication_factors[-1].type == "totp"

    def test_delete_totp_with_a_member_session_needs_the_wildcard_on_members(self, b2b, inbox):
        admin = discovery_signup(b2b, inbox, new_email("admin"))
        org_id = admin.organization.organization_id
        bob = add_member(b2b, inbox, org_id)
        b2b.totps.migrate(
            organization_id=org_id, member_id=bob.member_id, secret=pyotp.random_base32(32), recovery_codes=[]
        )
        as_bob = acting(DeleteTOTPRequestOptions, bob)
        caught = error_of(
            lambda: b2b.organizations.members.delete_totp(
                organization_id=org_id, member_id=bob.member_id, method_options=as_bob
            )
        )
        assert caught.status_code == 403
        deleted = b2b.organizations.members.delete_totp(
            organization_id=org_id, member_id=bob.member_id, method_options=acting(DeleteTOTPRequestOptions, admin)
        )
        assert deleted.member.totp_registration_id == ""

    def test_delete_totp_of_a_member_without_one_is_not_found(self, b2b, inbox):
        org = make_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        caught = error_of(
            lambda: b2b.organizations.members.delete_totp(organization_id=org.organization_id, member_id=resp.member_id)
        )
        assert caught.error_type == "totp_not_found"


class TestRecoveryCodes:
    def test_a_recovery_code_completes_the_intermediate_session(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        email, _, done, _ = enrolled(b2b, inbox, org.organization_id)
        codes = b2b.recovery_codes.get(organization_id=org.organization_id, member_id=done.member_id).recovery_codes
        assert len(codes) == 10
        ist = login(b2b, inbox, org.organization_id, email).intermediate_session_token
        recovered = b2b.recovery_codes.recover(
            organization_id=org.organization_id,
            member_id=done.member_id,
            recovery_code=codes[0],
            intermediate_session_token=ist,
        )
        assert recovered.recovery_codes_remaining == 9
        assert [f.type for f in recovered.member_session.authentication_factors] == ["magic_link", "recovery_codes"]
        left = b2b.recovery_codes.get(organization_id=org.organization_id, member_id=done.member_id).recovery_codes
        assert left == codes[1:]

    def test_a_recovery_code_is_single_use(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, _, done, _ = enrolled(b2b, inbox, org.organization_id)
        first = b2b.recovery_codes.get(organization_id=org.organization_id, member_id=done.member_id).recovery_codes[0]
        kwargs = {"organization_id": org.organization_id, "member_id": done.member_id, "recovery_code": first}
        b2b.recovery_codes.recover(**kwargs, session_token=done.session_token)
        caught = error_of(lambda: b2b.recovery_codes.recover(**kwargs, session_token=done.session_token))
        assert (caught.status_code, caught.error_type) == (401, "unable_to_authenticate_recovery_code")

    def test_rotate_invalidates_the_old_set(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, _, done, _ = enrolled(b2b, inbox, org.organization_id)
        ids = {"organization_id": org.organization_id, "member_id": done.member_id}
        old = b2b.recovery_codes.get(**ids).recovery_codes
        new = b2b.recovery_codes.rotate(**ids).recovery_codes
        assert len(new) == 10 and not set(new) & set(old)
        assert b2b.recovery_codes.get(**ids).recovery_codes == new
        caught = error_of(
            lambda: b2b.recovery_codes.recover(**ids, recovery_code=old[0], session_token=done.session_token)
        )
        assert caught.error_type == "unable_to_authenticate_recovery_code"
        assert b2b.recovery_codes.recover(**ids, recovery_code=new[0], session_token=done.session_token).session_token

    def test_a_member_without_totp_has_no_recovery_codes(self, b2b, inbox):
        org = make_org(b2b, inbox)
        _, resp = member_login(b2b, inbox, org.organization_id)
        caught = error_of(lambda: b2b.recovery_codes.get(organization_id=org.organization_id, member_id=resp.member_id))
        assert (caught.status_code, caught.error_type) == (404, "recovery_codes_not_found")

    def test_wrong_recovery_codes_are_limited_per_member(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, _, done, _ = enrolled(b2b, inbox, org.organization_id)
        kwargs = {
            "organization_id": org.organization_id,
            "member_id": done.member_id,
            "session_token": done.session_token,
        }
        statuses = [
            error_of(lambda: b2b.recovery_codes.recover(**kwargs, recovery_code="zzzz-zzzz-zzzz")).status_code
            for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]

    def test_another_projects_secret_cannot_read_the_codes(self, b2b, inbox, other_project):
        org = mfa_org(b2b, inbox)
        _, _, done, _ = enrolled(b2b, inbox, org.organization_id)
        with requests.Session() as session:
            neighbour = stytch.B2BClient(
                other_project.project_id,
                other_project.secret,
                environment=other_project.server.base_url,
                sync_session=session,
            )
            for call in (
                lambda: neighbour.recovery_codes.get(organization_id=org.organization_id, member_id=done.member_id),
                lambda: neighbour.recovery_codes.rotate(organization_id=org.organization_id, member_id=done.member_id),
                lambda: neighbour.totps.create(organization_id=org.organization_id, member_id=done.member_id),
                lambda: neighbour.organizations.members.delete_totp(
                    organization_id=org.organization_id, member_id=done.member_id
                ),
            ):
                assert error_of(call).error_type == "organization_not_found"
        assert (
            len(b2b.recovery_codes.get(organization_id=org.organization_id, member_id=done.member_id).recovery_codes)
            == 10
        )

    def test_concurrent_recovers_of_one_code_give_one_success(self, b2b, inbox, project):
        org = mfa_org(b2b, inbox)
        _, _, done, _ = enrolled(b2b, inbox, org.organization_id)
        recovery_code = b2b.recovery_codes.get(
            organization_id=org.organization_id, member_id=done.member_id
        ).recovery_codes[0]

        def attempt(_: int) -> int:
            with requests.Session() as session:
                client = stytch.B2BClient(
                    project.project_id, project.secret, environment=project.server.base_url, sync_session=session
                )
                try:
                    client.recovery_codes.recover(
                        organization_id=org.organization_id,
                        member_id=done.member_id,
                        recovery_code=recovery_code,
                        session_token=done.session_token,
                    )
                    return 200
                except StytchError as exc:
                    return exc.details.status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(attempt, range(10)))
        assert results.count(200) == 1
        assert set(results) <= {200, 401, 429}
        remaining = b2b.recovery_codes.get(organization_id=org.organization_id, member_id=done.member_id)
        assert recovery_code not in remaining.recovery_codes


def test_add_member_still_logs_in_under_optional(b2b, inbox):
    org = make_org(b2b, inbox)
    assert add_member(b2b, inbox, org.organization_id).member_authenticated is True
