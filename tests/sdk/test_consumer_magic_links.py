"""Consumer email magic links through the official SDK (stytch.Client),
on SQLite and PostgreSQL: login_or_create, send, invite, revoke_invite, embeddable links
and magic_links.authenticate."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit

import pytest

from keystile.core.redirect_urls import RedirectType
from tests.flows import error_of, new_email, pkce_pair
from tests.support import allow_redirect, link_params

LOGIN_URL = "http://localhost:3000/login-here"
SIGNUP_URL = "http://localhost:3000/signup-here"
INVITE_URL = "http://localhost:3000/invite-here"


def link_path(link: str) -> str:
    return urlsplit(link).path


@pytest.fixture
def distinct_urls(project):
    """Separate default login, signup and invite URLs, so a link shows which flow sent it."""
    allow_redirect(project, LOGIN_URL, RedirectType.LOGIN, default=True)
    allow_redirect(project, SIGNUP_URL, RedirectType.SIGNUP, default=True)
    allow_redirect(project, INVITE_URL, RedirectType.INVITE, default=True)


class TestLoginOrCreate:
    def test_creates_a_user_for_a_new_email(self, consumer):
        email = new_email()
        resp = consumer.magic_links.email.login_or_create(email=email)
        assert resp.user_created is True
        assert resp.user_id.startswith("user-test-")
        assert resp.email_id.startswith("email-test-")

    def test_second_call_returns_the_same_user_not_created(self, consumer):
        email = new_email()
        first = consumer.magic_links.email.login_or_create(email=email)
        second = consumer.magic_links.email.login_or_create(email=email)
        assert second.user_id == first.user_id
        assert second.email_id == first.email_id
        assert second.user_created is False

    def test_email_case_finds_the_same_user(self, consumer):
        email = new_email()
        first = consumer.magic_links.email.login_or_create(email=email)
        second = consumer.magic_links.email.login_or_create(email=email.upper())
        assert second.user_id == first.user_id

    def test_new_user_gets_the_signup_link(self, consumer, inbox, distinct_urls):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        assert link_path(inbox.latest_link(email)) == "/signup-here"

    def test_active_user_gets_the_login_link(self, consumer, inbox, distinct_urls):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        consumer.magic_links.authenticate(token=inbox.latest_token(email))
        consumer.magic_links.email.login_or_create(email=email)
        assert link_path(inbox.latest_link(email)) == "/login-here"

    def test_pending_user_gets_the_signup_link_again(self, consumer, inbox, distinct_urls):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email, create_user_as_pending=True)
        consumer.magic_links.email.login_or_create(email=email)
        assert link_path(inbox.latest_link(email)) == "/signup-here"

    def test_create_user_as_pending_makes_a_pending_user(self, consumer):
        email = new_email()
        resp = consumer.magic_links.email.login_or_create(email=email, create_user_as_pending=True)
        assert consumer.users.get(user_id=resp.user_id).status == "pending"

    def test_without_pending_flag_the_user_is_active(self, consumer):
        resp = consumer.magic_links.email.login_or_create(email=new_email())
        assert consumer.users.get(user_id=resp.user_id).status == "active"

    def test_link_carries_token_type_and_keeps_the_url_query(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(
            email=email, signup_magic_link_url="http://localhost:3000/authenticate?next=%2Fhome"
        )
        params = link_params(inbox.latest_link(email))
        assert params["stytch_token_type"] == "magic_links"
        assert params["next"] == "/home"
        assert params["token"]

    def test_signup_link_lasts_a_week_by_default(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        assert "10080 minutes" in inbox.latest(email)["text"]

    def test_login_link_lasts_an_hour_by_default(self, consumer, inbox):
        email = new_email()
        consumer.users.create(email=email)
        consumer.magic_links.email.login_or_create(email=email)
        assert "60 minutes" in inbox.latest(email)["text"]

    def test_expiration_out_of_range_is_rejected(self, consumer):
        details = error_of(
            lambda: consumer.magic_links.email.login_or_create(email=new_email(), login_expiration_minutes=4)
        )
        assert details.error_type == "invalid_expiration_minutes"

    def test_unlisted_redirect_url_is_rejected(self, consumer):
        details = error_of(
            lambda: consumer.magic_links.email.login_or_create(
                email=new_email(), signup_magic_link_url="https://evil.test/steal"
            )
        )
        assert details.error_type == "invalid_signup_redirect_url"

    def test_invalid_email_is_rejected(self, consumer):
        details = error_of(lambda: consumer.magic_links.email.login_or_create(email="not-an-email"))
        assert details.error_type == "invalid_email"
        assert details.status_code == 400


class TestSend:
    def test_unknown_email_is_email_not_found(self, consumer):
        details = error_of(lambda: consumer.magic_links.email.send(email=new_email()))
        assert details.status_code == 404
        assert details.error_type == "email_not_found"

    def test_existing_active_user_gets_a_login_link(self, consumer, inbox, distinct_urls):
        email = new_email()
        created = consumer.users.create(email=email)
        resp = consumer.magic_links.email.send(email=email)
        assert (resp.user_id, resp.email_id) == (created.user_id, created.email_id)
        assert link_path(inbox.latest_link(email)) == "/login-here"

    def test_pending_user_gets_a_signup_link(self, consumer, inbox, distinct_urls):
        email = new_email()
        consumer.users.create(email=email, create_user_as_pending=True)
        consumer.magic_links.email.send(email=email)
        assert link_path(inbox.latest_link(email)) == "/signup-here"

    def test_login_expiration_is_honoured(self, consumer, inbox):
        email = new_email()
        consumer.users.create(email=email)
        consumer.magic_links.email.send(email=email, login_expiration_minutes=15)
        assert "15 minutes" in inbox.latest(email)["text"]

    def test_link_authenticates_the_user(self, consumer, inbox):
        email = new_email()
        created = consumer.users.create(email=email)
        consumer.magic_links.email.send(email=email)
        assert consumer.magic_links.authenticate(token=inbox.latest_token(email)).user_id == created.user_id

    def test_naming_a_user_attaches_the_new_email_once_proven(self, consumer, inbox):
        owner = consumer.users.create(email=new_email())
        extra = new_email("extra")
        sent = consumer.magic_links.email.send(email=extra, user_id=owner.user_id)
        assert sent.user_id == owner.user_id
        assert extra not in [e.email for e in consumer.users.get(user_id=owner.user_id).emails]
        consumer.magic_links.authenticate(token=inbox.latest_token(extra))
        emails = {e.email: e for e in consumer.users.get(user_id=owner.user_id).emails}
        assert emails[extra].verified is True
        assert emails[extra].email_id == sent.email_id

    def test_naming_a_session_attaches_the_new_email_to_its_user(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        login = consumer.magic_links.authenticate(token=inbox.latest_token(email), session_duration_minutes=60)
        extra = new_email("extra")
        sent = consumer.magic_links.email.send(email=extra, session_token=login.session_token)
        assert sent.user_id == login.user_id
        consumer.magic_links.authenticate(token=inbox.latest_token(extra))
        assert extra in [e.email for e in consumer.users.get(user_id=login.user_id).emails]

    def test_an_unproven_new_email_is_not_kept_after_five_minutes(self, consumer, inbox, server):
        owner = consumer.users.create(email=new_email())
        extra = new_email("extra")
        consumer.magic_links.email.send(email=extra, user_id=owner.user_id)
        server.clock.advance(minutes=6)
        details = error_of(lambda: consumer.magic_links.authenticate(token=inbox.latest_token(extra)))
        assert details.error_type == "unable_to_auth_magic_link"
        assert [e.email for e in consumer.users.get(user_id=owner.user_id).emails] != [extra]
        assert len(consumer.users.get(user_id=owner.user_id).emails) == 1

    def test_attaching_another_users_email_is_duplicate_email(self, consumer):
        taken = new_email()
        consumer.users.create(email=taken)
        owner = consumer.users.create(email=new_email())
        details = error_of(lambda: consumer.magic_links.email.send(email=taken, user_id=owner.user_id))
        assert details.error_type == "duplicate_email"


class TestInvite:
    def test_creates_a_pending_user(self, consumer):
        email = new_email()
        resp = consumer.magic_links.email.invite(email=email, name={"first_name": "Ada"})
        user = consumer.users.get(user_id=resp.user_id)
        assert user.status == "pending"
        assert user.name.first_name == "Ada"
        assert user.emails[0].email_id == resp.email_id

    def test_sends_the_invite_link(self, consumer, inbox, distinct_urls):
        email = new_email()
        consumer.magic_links.email.invite(email=email)
        assert link_path(inbox.latest_link(email)) == "/invite-here"

    def test_invite_link_lasts_an_hour_by_default(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.invite(email=email)
        assert "60 minutes" in inbox.latest(email)["text"]

    def test_authenticating_the_invite_activates_the_user(self, consumer, inbox):
        email = new_email()
        invited = consumer.magic_links.email.invite(email=email)
        consumer.magic_links.authenticate(token=inbox.latest_token(email))
        user = consumer.users.get(user_id=invited.user_id)
        assert user.status == "active"
        assert user.emails[0].verified is True

    def test_active_user_cannot_be_invited(self, consumer):
        email = new_email()
        consumer.users.create(email=email)
        details = error_of(lambda: consumer.magic_links.email.invite(email=email))
        assert details.error_type == "user_already_active"

    def test_pending_user_can_be_invited_again(self, consumer):
        email = new_email()
        first = consumer.magic_links.email.invite(email=email)
        assert consumer.magic_links.email.invite(email=email).user_id == first.user_id


class TestRevokeInvite:
    def test_revoked_invite_link_no_longer_authenticates(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.invite(email=email)
        token = inbox.latest_token(email)
        consumer.magic_links.email.revoke_invite(email=email)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token))
        assert details.error_type == "unable_to_auth_magic_link"

    def test_without_a_pending_invite_it_is_invite_not_found(self, consumer):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        details = error_of(lambda: consumer.magic_links.email.revoke_invite(email=email))
        assert details.error_type == "invite_not_found"


class TestEmbeddable:
    def test_returns_a_token_that_authenticates_the_user(self, consumer):
        user = consumer.users.create(email=new_email())
        created = consumer.magic_links.create(user_id=user.user_id)
        assert created.user_id == user.user_id
        resp = consumer.magic_links.authenticate(token=created.token, session_duration_minutes=30)
        assert resp.user_id == user.user_id
        assert resp.session.authentication_factors[0].delivery_method.value == "embedded"

    def test_accepts_the_external_id(self, consumer):
        user = consumer.users.create(email=new_email(), external_id=f"ext-{uuid.uuid4().hex[:8]}")
        created = consumer.magic_links.create(user_id=user.user.external_id)
        assert created.user_id == user.user_id

    def test_sends_no_email(self, consumer, inbox):
        email = new_email()
        user = consumer.users.create(email=email)
        consumer.magic_links.create(user_id=user.user_id)
        assert inbox.messages(email) == []

    def test_unknown_user_is_user_not_found(self, consumer):
        details = error_of(lambda: consumer.magic_links.create(user_id="user-test-nope"))
        assert details.error_type == "user_not_found"

    def test_expires_after_its_lifetime(self, consumer, server):
        user = consumer.users.create(email=new_email())
        created = consumer.magic_links.create(user_id=user.user_id, expiration_minutes=5)
        server.clock.advance(minutes=6)
        details = error_of(lambda: consumer.magic_links.authenticate(token=created.token))
        assert details.error_type == "unable_to_auth_magic_link"


class TestAuthenticate:
    def test_without_duration_no_session_is_created(self, consumer, inbox):
        email = new_email()
        sent = consumer.magic_links.email.login_or_create(email=email)
        resp = consumer.magic_links.authenticate(token=inbox.latest_token(email))
        assert resp.user_id == sent.user_id
        assert resp.session_token == ""
        assert resp.session_jwt == ""
        assert resp.session is None
        assert consumer.sessions.get(user_id=sent.user_id).sessions == []

    def test_with_duration_a_session_and_jwt_are_issued(self, consumer, inbox):
        email = new_email()
        sent = consumer.magic_links.email.login_or_create(email=email)
        resp = consumer.magic_links.authenticate(token=inbox.latest_token(email), session_duration_minutes=60)
        assert resp.session_token and resp.session_jwt
        assert resp.session.user_id == sent.user_id
        assert (resp.session.expires_at - resp.session.started_at).total_seconds() == 3600
        factor = resp.session.authentication_factors[0]
        assert factor.type.value == "magic_link"
        assert factor.email_factor.email_address == email

    def test_the_session_jwt_verifies_locally(self, consumer, inbox, server):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        resp = consumer.magic_links.authenticate(token=inbox.latest_token(email), session_duration_minutes=60)
        # The test server's clock may run ahead of the wall clock the SDK checks with.
        leeway = int(server.clock.offset.total_seconds()) + 5
        local = consumer.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt, leeway=leeway)
        assert local is not None
        assert local.session_id == resp.session.session_id
        assert local.user_id == resp.user_id

    def test_method_id_is_the_email_id(self, consumer, inbox):
        email = new_email()
        sent = consumer.magic_links.email.login_or_create(email=email)
        resp = consumer.magic_links.authenticate(token=inbox.latest_token(email))
        assert resp.method_id == sent.email_id
        assert resp.reset_sessions is False

    def test_marks_the_email_verified_and_the_user_active(self, consumer, inbox):
        email = new_email()
        sent = consumer.magic_links.email.login_or_create(email=email, create_user_as_pending=True)
        resp = consumer.magic_links.authenticate(token=inbox.latest_token(email))
        assert resp.user.status == "active"
        assert resp.user.emails[0].verified is True
        assert consumer.users.get(user_id=sent.user_id).emails[0].verified is True

    def test_custom_claims_land_on_the_session(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        resp = consumer.magic_links.authenticate(
            token=inbox.latest_token(email), session_duration_minutes=30, session_custom_claims={"plan": "pro"}
        )
        assert resp.session.custom_claims == {"plan": "pro"}

    def test_existing_session_token_is_extended_not_duplicated(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        first = consumer.magic_links.authenticate(token=inbox.latest_token(email), session_duration_minutes=30)
        consumer.magic_links.email.login_or_create(email=email)
        second = consumer.magic_links.authenticate(
            token=inbox.latest_token(email), session_duration_minutes=120, session_token=first.session_token
        )
        assert second.session.session_id == first.session.session_id
        assert second.session.expires_at > first.session.expires_at

    def test_used_token_is_unable_to_auth(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        token = inbox.latest_token(email)
        consumer.magic_links.authenticate(token=token)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token))
        assert details.status_code == 401
        assert details.error_type == "unable_to_auth_magic_link"

    def test_unknown_token_is_magic_link_not_found(self, consumer):
        details = error_of(lambda: consumer.magic_links.authenticate(token=secrets.token_urlsafe(32)))
        assert details.status_code == 404
        assert details.error_type == "magic_link_not_found"

    def test_expired_login_link_is_unable_to_auth(self, consumer, inbox, server):
        email = new_email()
        consumer.users.create(email=email)
        consumer.magic_links.email.send(email=email, login_expiration_minutes=5)
        token = inbox.latest_token(email)
        server.clock.advance(minutes=6)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token))
        assert details.error_type == "unable_to_auth_magic_link"

    def test_bad_session_duration_keeps_the_token_usable(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        token = inbox.latest_token(email)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token, session_duration_minutes=4))
        assert details.error_type == "invalid_session_duration_minutes"
        assert consumer.magic_links.authenticate(token=token).user_id

    def test_pkce_verifier_must_match_the_challenge(self, consumer, inbox):
        email = new_email()
        verifier, challenge = pkce_pair()
        consumer.magic_links.email.login_or_create(email=email, code_challenge=challenge)
        token = inbox.latest_token(email)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token, code_verifier="wrong" * 10))
        assert details.error_type == "pkce_mismatch"
        assert consumer.magic_links.authenticate(token=token, code_verifier=verifier).user_id

    def test_pkce_token_needs_a_verifier(self, consumer, inbox):
        email = new_email()
        _, challenge = pkce_pair()
        consumer.magic_links.email.login_or_create(email=email, code_challenge=challenge)
        details = error_of(lambda: consumer.magic_links.authenticate(token=inbox.latest_token(email)))
        assert details.error_type == "pkce_expected_code_verifier"

    def test_ip_match_required_rejects_another_ip(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email, attributes={"ip_address": "203.0.113.1"})
        details = error_of(
            lambda: consumer.magic_links.authenticate(
                token=inbox.latest_token(email),
                attributes={"ip_address": "198.51.100.7"},
                options={"ip_match_required": True, "user_agent_match_required": False},
            )
        )
        assert details.error_type == "unable_to_auth_magic_link"

    def test_ip_match_required_accepts_the_same_ip(self, consumer, inbox):
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email, attributes={"ip_address": "203.0.113.1"})
        resp = consumer.magic_links.authenticate(
            token=inbox.latest_token(email),
            attributes={"ip_address": "203.0.113.1"},
            options={"ip_match_required": True, "user_agent_match_required": False},
        )
        assert resp.user_id

    def test_deleted_users_link_no_longer_authenticates(self, consumer, inbox):
        email = new_email()
        sent = consumer.magic_links.email.login_or_create(email=email)
        token = inbox.latest_token(email)
        consumer.users.delete(user_id=sent.user_id)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token))
        assert details.error_type == "unable_to_auth_magic_link"


class TestIsolation:
    def test_another_projects_secret_cannot_redeem_the_link(self, consumer, inbox, other_project):
        import stytch

        email = new_email()
        consumer.magic_links.email.login_or_create(email=email)
        token = inbox.latest_token(email)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        details = error_of(lambda: other.magic_links.authenticate(token=token))
        assert details.error_type == "magic_link_not_found"
        assert consumer.magic_links.authenticate(token=token).user_id

    def test_another_projects_secret_cannot_send_to_the_users_email(self, consumer, other_project):
        import stytch

        email = new_email()
        consumer.users.create(email=email)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        details = error_of(lambda: other.magic_links.email.send(email=email))
        assert details.error_type == "email_not_found"
