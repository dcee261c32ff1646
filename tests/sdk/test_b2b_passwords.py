"""B2B passwords through the official SDK: logins that end in the organization's MFA policy,
resets by email (through the inbox), by session and by the existing password, migrated
hashes, require_reset, lockout, deletion, and the cross-organization (discovery) flavour."""

from __future__ import annotations

import base64
import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bcrypt
import pytest
import stytch
from stytch.b2b.models.organizations_members import DeletePasswordRequestOptions
from stytch.core.response_base import StytchError

from keystile.core import password_policy
from keystile.core.password_policy import PasswordPolicy
from tests.flows import acting, discover, error_of, impersonate, jit_org, login, make_org, new_email, pkce_pair
from tests.support import REDIRECT_URL, link_params


def strong() -> str:
    """A password every policy takes and no breach list holds."""
    return f"Lumen-{uuid.uuid4().hex[:10]}-Quokka!"


def set_password_policy(project: Any, **fields: Any) -> None:
    """The project's password policy, as `[projects.passwords]` in keystile.toml sets it."""
    server = project.server

    async def work() -> None:
        async with server.state.transaction() as conn:
            await password_policy.store(conn, project.project_id, PasswordPolicy(**fields))

    server.run(work())


def member_with_password(b2b: Any, inbox: Any, organization_id: str, password: str, email: str | None = None) -> Any:
    """A new Member who sets its password through a reset email; the reset response."""
    email = email or new_email("pat")
    b2b.organizations.members.create(organization_id=organization_id, email_address=email)
    b2b.passwords.email.reset_start(organization_id=organization_id, email_address=email)
    return b2b.passwords.email.reset(password_reset_token=inbox.latest_token(email), password=password)


def org_and_member(b2b: Any, inbox: Any) -> tuple[Any, str, Any]:
    """A new organization and a Member of it with a strong password: (the organization,
    the password, the reset response that set it)."""
    org = make_org(b2b, inbox)
    password = strong()
    return org, password, member_with_password(b2b, inbox, org.organization_id, password)


def salted_hash(hash_type: str, password: str) -> dict[str, Any]:
    """`hash` and its config field for passwords.migrate, made here with hashlib."""
    salt = uuid.uuid4().hex[:12]
    if hash_type in ("md_5", "sha_1", "sha_512"):
        algorithm = {"md_5": "md5", "sha_1": "sha1", "sha_512": "sha512"}[hash_type]
        digest = hashlib.new(algorithm, (salt + password).encode()).hexdigest()
        return {"hash": digest, f"{hash_type}_config": {"prepend_salt": salt, "append_salt": ""}}
    if hash_type == "pbkdf_2":
        raw_salt = salt.encode()
        key = hashlib.pbkdf2_hmac("sha256", password.encode(), raw_salt, 1000, 32)
        return {
            "hash": base64.b64encode(key).decode(),
            "pbkdf_2_config": {
                "salt": base64.b64encode(raw_salt).decode(),
                "iteration_amount": 1000,
                "key_length": 32,
                "algorithm": "sha256",
            },
        }
    raw_salt = salt.encode()
    key = hashlib.scrypt(password.encode(), salt=raw_salt, n=1024, r=8, p=1, dklen=32)
    return {
        "hash": base64.b64encode(key).decode(),
        "scrypt_config": {
            "salt": base64.b64encode(raw_salt).decode(),
            "n_parameter": 1024,
            "r_parameter": 8,
            "p_parameter": 1,
            "key_length": 32,
        },
    }


def session_alive(b2b: Any, token: str) -> bool:
    try:
        b2b.sessions.authenticate(session_token=token)
    except StytchError:
        return False
    return True


class TestLogin:
    def test_a_member_sets_a_password_by_email_and_logs_in_with_it(self, b2b, inbox):
        org, password, done = org_and_member(b2b, inbox)
        assert done.member_authenticated is True and done.session_token
        assert done.member.member_password_id and done.member.status == "active"
        assert done.member.email_address_verified is True
        assert done.member_email_id
        resp = b2b.passwords.authenticate(
            organization_id=org.organization_id,
            email_address=done.member.email_address,
            password=password,
            session_duration_minutes=30,
        )
        assert resp.member_authenticated is True and resp.session_token and resp.session_jwt
        assert resp.organization_id == org.organization_id
        assert resp.member.member_password_id == done.member.member_password_id
        factors = [(f.type, f.delivery_method) for f in resp.member_session.authentication_factors]
        assert factors == [("password", "knowledge")]
        got = b2b.organizations.members.get(organization_id=org.organization_id, member_id=resp.member_id)
        assert got.member.member_password_id == done.member.member_password_id

    def test_a_wrong_password_and_an_unknown_email_answer_alike(self, b2b, inbox):
        org = make_org(b2b, inbox)
        done = member_with_password(b2b, inbox, org.organization_id, strong())
        wrong = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=done.member.email_address, password=strong()
            )
        )
        unknown = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=new_email("nobody"), password=strong()
            )
        )
        assert (wrong.status_code, wrong.error_type) == (401, "unauthorized_credentials")
        assert (unknown.status_code, unknown.error_type, unknown.error_message) == (
            wrong.status_code,
            wrong.error_type,
            wrong.error_message,
        )

    def test_a_member_without_a_password_cannot_log_in_with_one(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        err = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=email, password=strong()
            )
        )
        assert err.error_type == "unauthorized_credentials"

    def test_the_password_is_scoped_to_its_organization(self, b2b, inbox):
        first, second = make_org(b2b, inbox), make_org(b2b, inbox)
        email, password = new_email(), strong()
        member_with_password(b2b, inbox, first.organization_id, password, email)
        b2b.organizations.members.create(organization_id=second.organization_id, email_address=email)
        err = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=second.organization_id, email_address=email, password=password
            )
        )
        assert err.error_type == "unauthorized_credentials"

    def test_an_organization_requiring_mfa_answers_with_an_intermediate_session(self, b2b, inbox):
        org, password, done = org_and_member(b2b, inbox)
        b2b.organizations.update(organization_id=org.organization_id, mfa_policy="REQUIRED_FOR_ALL")
        resp = b2b.passwords.authenticate(
            organization_id=org.organization_id, email_address=done.member.email_address, password=password
        )
        assert resp.member_authenticated is False and resp.intermediate_session_token
        assert resp.session_token == "" and resp.member_session is None
        assert resp.mfa_required is not None

    def test_restricted_auth_methods_without_password_refuse_it(self, b2b, inbox):
        org, password, done = org_and_member(b2b, inbox)
        b2b.organizations.update(
            organization_id=org.organization_id, auth_methods="RESTRICTED", allowed_auth_methods=["magic_link"]
        )
        err = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=done.member.email_address, password=password
            )
        )
        assert (err.status_code, err.error_type) == (403, "operation_restricted_by_organization_auth_methods")
        b2b.organizations.update(
            organization_id=org.organization_id,
            auth_methods="RESTRICTED",
            allowed_auth_methods=["magic_link", "password"],
        )
        resp = b2b.passwords.authenticate(
            organization_id=org.organization_id, email_address=done.member.email_address, password=password
        )
        assert resp.member_authenticated is True

    def test_a_password_completes_the_primary_factors_an_organization_asks_for(self, b2b, inbox):
        org, password, done = org_and_member(b2b, inbox)
        email = done.member.email_address
        b2b.organizations.update(
            organization_id=org.organization_id, auth_methods="RESTRICTED", allowed_auth_methods=["password"]
        )
        found = discover(b2b, inbox, email)
        exchanged = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=found.intermediate_session_token, organization_id=org.organization_id
        )
        assert exchanged.member_authenticated is False and exchanged.primary_required is not None
        resp = b2b.passwords.authenticate(
            organization_id=org.organization_id,
            email_address=email,
            password=password,
            intermediate_session_token=exchanged.intermediate_session_token,
        )
        assert resp.member_authenticated is True
        factors = [f.type for f in resp.member_session.authentication_factors]
        assert factors == ["magic_link", "password"]
        used = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id,
                email_address=email,
                password=password,
                intermediate_session_token=exchanged.intermediate_session_token,
            )
        )
        assert used.error_type == "intermediate_session_not_found"

    def test_failures_lock_the_account_out(self, b2b, inbox):
        org, password, done = org_and_member(b2b, inbox)
        email = done.member.email_address
        codes = []
        for _ in range(12):
            codes.append(
                error_of(
                    lambda: b2b.passwords.authenticate(
                        organization_id=org.organization_id, email_address=email, password=strong()
                    )
                ).status_code
            )
        assert codes[0] == 401 and codes[-1] == 429
        err = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=email, password=password
            )
        )
        assert (err.status_code, err.error_type) == (429, "too_many_requests")

    def test_another_project_cannot_use_the_password(self, b2b, inbox, other_project):
        org, password, done = org_and_member(b2b, inbox)
        other = stytch.B2BClient(
            other_project.project_id, other_project.secret, environment=other_project.server.base_url
        )
        err = error_of(
            lambda: other.passwords.authenticate(
                organization_id=org.organization_id, email_address=done.member.email_address, password=password
            )
        )
        assert err.error_type == "organization_not_found"


class TestResetByEmail:
    def test_the_email_links_to_the_reset_url_with_the_slug_and_token_type(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        started = b2b.passwords.email.reset_start(organization_id=org.organization_id, email_address=email)
        assert started.member.email_address == email and started.member_email_id
        link = inbox.latest_link(email)
        assert link.startswith(REDIRECT_URL)
        params = link_params(link)
        assert params["stytch_token_type"] == "multi_tenant_passwords"
        assert params["slug"] == org.organization_slug and params["token"]

    def test_the_email_also_offers_a_login_without_password(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        b2b.passwords.email.reset_start(organization_id=org.organization_id, email_address=email)
        login_link = link_params(inbox.latest(email)["links"][1])
        assert login_link["stytch_token_type"] == "multi_tenant_magic_links"
        resp = b2b.magic_links.authenticate(magic_links_token=login_link["token"])
        assert resp.member_authenticated is True and resp.member.email_address == email

    def test_a_reset_start_is_refused_before_anything_is_sent(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        too_short = error_of(
            lambda: b2b.passwords.email.reset_start(
                organization_id=org.organization_id, email_address=email, reset_password_expiration_minutes=4
            )
        )
        assert too_short.error_type == "invalid_expiration_minutes"
        elsewhere = error_of(
            lambda: b2b.passwords.email.reset_start(
                organization_id=org.organization_id,
                email_address=email,
                reset_password_redirect_url="https://evil.test/reset",
            )
        )
        assert elsewhere.error_type == "invalid_reset_password_redirect_url"
        assert inbox.messages(email) == []

    def test_any_unicode_password_works(self, b2b, inbox):
        org = make_org(b2b, inbox)
        password = f"Ünïcødé 🔑 пароль {uuid.uuid4().hex[:6]}"
        done = member_with_password(b2b, inbox, org.organization_id, password)
        assert b2b.passwords.authenticate(
            organization_id=org.organization_id, email_address=done.member.email_address, password=password
        ).member_authenticated

    def test_an_unknown_member_gets_no_email(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        err = error_of(
            lambda: b2b.passwords.email.reset_start(organization_id=org.organization_id, email_address=email)
        )
        assert err.error_type == "member_not_found"
        assert inbox.messages(email) == []

    def test_a_reset_link_works_once_and_a_weak_password_leaves_it_usable(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        b2b.passwords.email.reset_start(organization_id=org.organization_id, email_address=email)
        token = inbox.latest_token(email)
        weak = error_of(lambda: b2b.passwords.email.reset(password_reset_token=token, password="password"))
        assert weak.error_type == "weak_password"
        b2b.passwords.email.reset(password_reset_token=token, password=strong())
        again = error_of(lambda: b2b.passwords.email.reset(password_reset_token=token, password=strong()))
        assert (again.status_code, again.error_type) == (401, "unable_to_auth_password_reset_token")
        unknown = error_of(lambda: b2b.passwords.email.reset(password_reset_token="x" * 44, password=strong()))
        assert unknown.error_type == "unable_to_auth_password_reset_token"

    def test_a_reset_link_expires(self, b2b, inbox, server):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        b2b.passwords.email.reset_start(
            organization_id=org.organization_id, email_address=email, reset_password_expiration_minutes=5
        )
        token = inbox.latest_token(email)
        server.clock.advance(minutes=6)
        err = error_of(lambda: b2b.passwords.email.reset(password_reset_token=token, password=strong()))
        assert err.error_type == "unable_to_auth_password_reset_token" and "expired" in err.error_message

    def test_pkce_binds_the_link_to_its_device(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        verifier, challenge = pkce_pair()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        b2b.passwords.email.reset_start(
            organization_id=org.organization_id, email_address=email, code_challenge=challenge
        )
        token = inbox.latest_token(email)
        wrong = error_of(
            lambda: b2b.passwords.email.reset(password_reset_token=token, password=strong(), code_verifier="no" * 30)
        )
        assert wrong.error_type == "pkce_mismatch"
        done = b2b.passwords.email.reset(password_reset_token=token, password=strong(), code_verifier=verifier)
        assert done.member_authenticated is True

    def test_a_reset_revokes_the_members_other_sessions(self, b2b, inbox):
        org, _, done = org_and_member(b2b, inbox)
        email = done.member.email_address
        earlier = login(b2b, inbox, org.organization_id, email)
        assert session_alive(b2b, earlier.session_token)
        b2b.passwords.email.reset_start(organization_id=org.organization_id, email_address=email)
        reset = b2b.passwords.email.reset(password_reset_token=inbox.latest_token(email), password=strong())
        assert not session_alive(b2b, earlier.session_token)
        assert not session_alive(b2b, done.session_token)
        assert session_alive(b2b, reset.session_token)

    def test_concurrent_uses_of_one_link_set_one_password(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        b2b.passwords.email.reset_start(organization_id=org.organization_id, email_address=email)
        token = inbox.latest_token(email)

        def attempt(_: int) -> str:
            try:
                b2b.passwords.email.reset(password_reset_token=token, password=strong())
            except StytchError as exc:
                return exc.details.error_type
            return "ok"

        with ThreadPoolExecutor(max_workers=20) as pool:
            outcomes = list(pool.map(attempt, range(20)))
        assert outcomes.count("ok") == 1, outcomes
        assert set(outcomes) - {"ok"} <= {"unable_to_auth_password_reset_token"}


class TestRequireReset:
    def test_a_required_reset_refuses_the_password_until_it_is_reset(self, b2b, inbox):
        org, password, done = org_and_member(b2b, inbox)
        email = done.member.email_address
        resp = b2b.passwords.email.require_reset(email_address=email, organization_id=org.organization_id)
        assert resp.member_id == done.member_id and resp.organization.organization_id == org.organization_id
        err = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=email, password=password
            )
        )
        assert err.error_type == "member_reset_password"
        b2b.passwords.email.reset_start(organization_id=org.organization_id, email_address=email)
        new = strong()
        b2b.passwords.email.reset(password_reset_token=inbox.latest_token(email), password=new)
        assert b2b.passwords.authenticate(
            organization_id=org.organization_id, email_address=email, password=new
        ).member_authenticated

    def test_a_member_without_a_password_has_none_to_reset(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        err = error_of(
            lambda: b2b.passwords.email.require_reset(email_address=email, organization_id=org.organization_id)
        )
        assert err.error_type == "member_password_not_found"


class TestOtherResets:
    def test_a_fresh_session_resets_the_password_and_keeps_only_itself(self, b2b, inbox, server):
        org = make_org(b2b, inbox)
        done = member_with_password(b2b, inbox, org.organization_id, strong())
        email = done.member.email_address
        other = login(b2b, inbox, org.organization_id, email)
        new = strong()
        resp = b2b.passwords.sessions.reset(
            organization_id=org.organization_id, password=new, session_token=other.session_token
        )
        assert resp.member_authenticated is True and resp.member_session is not None
        assert session_alive(b2b, other.session_token)
        assert not session_alive(b2b, done.session_token)
        assert b2b.passwords.authenticate(
            organization_id=org.organization_id, email_address=email, password=new
        ).member_authenticated
        server.clock.advance(minutes=6)
        stale = error_of(
            lambda: b2b.passwords.sessions.reset(
                organization_id=org.organization_id, password=strong(), session_token=other.session_token
            )
        )
        assert stale.error_type == "session_too_old_to_reset_password"

    def test_an_impersonated_session_cannot_reset_the_password(self, b2b, inbox, project):
        org, password, done = org_and_member(b2b, inbox)
        minted = impersonate(project, "--organization", org.organization_id, "--member", done.member_id)
        session = b2b.impersonation.authenticate(impersonation_token=minted["token"])
        err = error_of(
            lambda: b2b.passwords.sessions.reset(
                organization_id=org.organization_id, password=strong(), session_token=session.session_token
            )
        )
        assert err.error_type == "session_not_mutable_impersonated"
        assert b2b.passwords.authenticate(
            organization_id=org.organization_id, email_address=done.member.email_address, password=password
        ).member_authenticated

    def test_the_existing_password_changes_it(self, b2b, inbox):
        org = make_org(b2b, inbox)
        old = strong()
        done = member_with_password(b2b, inbox, org.organization_id, old)
        email = done.member.email_address
        wrong = error_of(
            lambda: b2b.passwords.existing_password.reset(
                email_address=email,
                existing_password=strong(),
                new_password=strong(),
                organization_id=org.organization_id,
            )
        )
        assert wrong.error_type == "unauthorized_credentials"
        new = strong()
        resp = b2b.passwords.existing_password.reset(
            email_address=email, existing_password=old, new_password=new, organization_id=org.organization_id
        )
        assert resp.member_authenticated is True and resp.session_token
        assert not session_alive(b2b, done.session_token)
        err = error_of(
            lambda: b2b.passwords.authenticate(organization_id=org.organization_id, email_address=email, password=old)
        )
        assert err.error_type == "unauthorized_credentials"
        assert b2b.passwords.authenticate(
            organization_id=org.organization_id, email_address=email, password=new
        ).member_authenticated


class TestMigrateAndStrength:
    def test_a_migrated_bcrypt_hash_logs_in_and_creates_the_member(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email, password = new_email(), strong()
        made = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        resp = b2b.passwords.migrate(
            email_address=email,
            hash=made,
            hash_type="bcrypt",
            organization_id=org.organization_id,
            name="Pat Migrated",
            external_id=f"ext-{uuid.uuid4().hex[:8]}",
        )
        assert resp.member_created is True and resp.member.status == "active"
        assert resp.member.email_address_verified is True
        assert resp.member.member_password_id and resp.member.name == "Pat Migrated"
        for _ in range(2):  # the first login re-hashes with argon2id; the second checks that hash
            login_resp = b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=email, password=password
            )
            assert login_resp.member_authenticated is True
        again = b2b.passwords.migrate(
            email_address=email, hash=made, hash_type="bcrypt", organization_id=org.organization_id
        )
        assert again.member_created is False and again.member_id == resp.member_id
        invited_email = new_email("invited")
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=invited_email)
        invited = b2b.passwords.migrate(
            email_address=invited_email, hash=made, hash_type="bcrypt", organization_id=org.organization_id
        )
        assert invited.member_created is False
        assert invited.member.status == "active" and invited.member.email_address_verified is True

    @pytest.mark.parametrize("hash_type", ["md_5", "sha_1", "sha_512", "pbkdf_2", "scrypt"])
    def test_each_salted_hash_type_logs_in_with_its_config(self, b2b, inbox, hash_type):
        org = make_org(b2b, inbox)
        email, password = new_email(), strong()
        fields = salted_hash(hash_type, password)
        resp = b2b.passwords.migrate(
            email_address=email, hash_type=hash_type, organization_id=org.organization_id, **fields
        )
        assert resp.member.member_password_id
        wrong = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=email, password=password + "x"
            )
        )
        assert wrong.error_type == "unauthorized_credentials"
        assert b2b.passwords.authenticate(
            organization_id=org.organization_id, email_address=email, password=password
        ).member_authenticated

    def test_a_migrated_member_gets_only_roles_that_exist(self, b2b, inbox):
        org = make_org(b2b, inbox)
        made = bcrypt.hashpw(strong().encode(), bcrypt.gensalt(rounds=4)).decode()
        email = new_email()
        err = error_of(
            lambda: b2b.passwords.migrate(
                email_address=email,
                hash=made,
                hash_type="bcrypt",
                organization_id=org.organization_id,
                roles=["no-such-role"],
            )
        )
        assert (err.status_code, err.error_type) == (400, "invalid_rbac_role_id")
        search = b2b.organizations.members.search(
            organization_ids=[org.organization_id],
            query={"operator": "AND", "operands": [{"filter_name": "member_emails", "filter_value": [email]}]},
        )
        assert search.members == []

    def test_a_hash_that_is_not_of_its_type_is_refused(self, b2b, inbox):
        org = make_org(b2b, inbox)
        err = error_of(
            lambda: b2b.passwords.migrate(
                email_address=new_email(), hash="not-a-hash", hash_type="bcrypt", organization_id=org.organization_id
            )
        )
        assert err.status_code == 400

    def test_strength_check_answers_with_zxcvbn_feedback(self, b2b):
        weak = b2b.passwords.strength_check(password="password1")
        assert weak.valid_password is False and weak.strength_policy == "zxcvbn"
        assert weak.zxcvbn_feedback is not None and weak.luds_feedback is None
        good = b2b.passwords.strength_check(password=strong(), email_address=new_email())
        assert good.valid_password is True and good.score >= 3 and good.breached_password is False

    def test_strength_check_answers_with_luds_feedback(self, b2b, project):
        set_password_policy(project, strength_policy="luds", luds_min_length=10, luds_complexity=3)
        resp = b2b.passwords.strength_check(password="abcdef")
        assert resp.valid_password is False and resp.strength_policy == "luds"
        assert resp.luds_feedback.missing_characters == 4 and resp.luds_feedback.has_lower_case is True
        assert resp.zxcvbn_feedback is None


class TestDeletePassword:
    def test_a_deleted_password_no_longer_logs_in(self, b2b, inbox):
        org, password, done = org_and_member(b2b, inbox)
        resp = b2b.organizations.members.delete_password(
            organization_id=org.organization_id, member_password_id=done.member.member_password_id
        )
        assert resp.member.member_password_id == ""
        err = error_of(
            lambda: b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=done.member.email_address, password=password
            )
        )
        assert err.error_type == "unauthorized_credentials"
        gone = error_of(
            lambda: b2b.organizations.members.delete_password(
                organization_id=org.organization_id, member_password_id=done.member.member_password_id
            )
        )
        assert gone.error_type == "member_password_not_found"

    def test_another_organization_cannot_delete_it(self, b2b, inbox):
        org, other = make_org(b2b, inbox), make_org(b2b, inbox)
        done = member_with_password(b2b, inbox, org.organization_id, strong())
        err = error_of(
            lambda: b2b.organizations.members.delete_password(
                organization_id=other.organization_id, member_password_id=done.member.member_password_id
            )
        )
        assert err.error_type == "member_password_not_found"

    def test_a_member_session_may_delete_its_own_password_but_not_anothers(self, b2b, inbox):
        org = make_org(b2b, inbox)
        mine = member_with_password(b2b, inbox, org.organization_id, strong())
        theirs = member_with_password(b2b, inbox, org.organization_id, strong())
        refused = error_of(
            lambda: b2b.organizations.members.delete_password(
                organization_id=org.organization_id,
                member_password_id=theirs.member.member_password_id,
                method_options=acting(DeletePasswordRequestOptions, mine),
            )
        )
        assert refused.status_code == 403
        own = b2b.organizations.members.delete_password(
            organization_id=org.organization_id,
            member_password_id=mine.member.member_password_id,
            method_options=acting(DeletePasswordRequestOptions, mine),
        )
        assert own.member.member_password_id == ""


class TestCrossOrganization:
    def test_discovery_needs_cross_organization_passwords(self, b2b):
        err = error_of(lambda: b2b.passwords.discovery.authenticate(email_address=new_email(), password=strong()))
        assert err.error_type == "cross_org_passwords_not_enabled"

    def test_one_password_logs_in_everywhere_and_discovery_lists_the_organizations(self, b2b, inbox, project):
        set_password_policy(project, cross_org_passwords=True)
        first = jit_org(b2b, inbox, "shared.test")
        second = make_org(b2b, inbox)
        email, password = new_email("kim", "shared.test"), strong()
        member_with_password(b2b, inbox, first.organization_id, password, email)
        b2b.organizations.members.create(organization_id=second.organization_id, email_address=email)
        # The address's password logs in to the organization the Member joined later.
        assert b2b.passwords.authenticate(
            organization_id=second.organization_id, email_address=email, password=password
        ).member_authenticated
        found = b2b.passwords.discovery.authenticate(email_address=email, password=password)
        assert found.email_address == email and found.intermediate_session_token
        listed = {d.organization.organization_id for d in found.discovered_organizations}
        assert {first.organization_id, second.organization_id} <= listed
        exchanged = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=found.intermediate_session_token, organization_id=second.organization_id
        )
        assert exchanged.member_authenticated is True
        factors = [(f.type, f.delivery_method) for f in exchanged.member_session.authentication_factors]
        assert factors == [("password", "knowledge")]
        wrong = error_of(lambda: b2b.passwords.discovery.authenticate(email_address=email, password=strong()))
        assert wrong.error_type == "unauthorized_credentials"

    def test_a_discovery_reset_sets_the_password_of_every_membership(self, b2b, inbox, project):
        set_password_policy(project, cross_org_passwords=True)
        first, second = make_org(b2b, inbox), make_org(b2b, inbox)
        email = new_email()
        for org in (first, second):
            b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        b2b.passwords.discovery.email.reset_start(email_address=email)
        link = inbox.latest_link(email)
        assert link_params(link)["stytch_token_type"] == "multi_tenant_passwords" and "slug" not in link_params(link)
        password = strong()
        resp = b2b.passwords.discovery.email.reset(password_reset_token=link_params(link)["token"], password=password)
        assert resp.email_address == email and resp.intermediate_session_token
        assert len(resp.discovered_organizations) == 2
        for org in (first, second):
            assert b2b.passwords.authenticate(
                organization_id=org.organization_id, email_address=email, password=password
            ).member_authenticated
        nobody = new_email()
        b2b.passwords.discovery.email.reset_start(email_address=nobody)
        assert inbox.messages(nobody) == []
