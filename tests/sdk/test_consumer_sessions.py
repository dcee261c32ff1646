"""Consumer sessions through the official SDK (stytch.Client), on SQLite
and PostgreSQL: sessions.authenticate (token or JWT), get, revoke, local JWT checks, and
the wall between consumer and B2B sessions."""

from __future__ import annotations

import uuid
from typing import Any

import stytch

from tests.flows import consumer_login, error_of, jwt_of, jwt_parts, new_email


def leeway(server: Any) -> int:
    """The test server's clock may run ahead of the wall clock the SDK verifies JWTs with."""
    return int(server.clock.offset.total_seconds()) + 5


class TestAuthenticate:
    def test_by_session_token(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate(session_token=login.session_token)
        assert resp.session.session_id == login.session.session_id
        assert resp.session_token == login.session_token
        assert resp.user.user_id == login.user_id
        assert resp.session_jwt

    def test_a_user_with_two_emails_gets_both_in_the_order_they_were_added(self, consumer, inbox, server):
        first = new_email("first")
        login = consumer_login(consumer, inbox, email=first)
        server.clock.advance(seconds=1)  # the second is added later on the server's clock
        second = new_email("second")
        consumer.magic_links.email.send(email=second, user_id=login.user_id)
        consumer.magic_links.authenticate(token=inbox.latest_token(second))

        by_token = consumer.sessions.authenticate(session_token=login.session_token)
        by_jwt = consumer.sessions.authenticate(session_jwt=login.session_jwt)
        stored = consumer.users.get(user_id=login.user_id)

        assert [e.email for e in by_token.user.emails] == [first, second]
        assert [e.email for e in by_jwt.user.emails] == [first, second]
        assert [(e.email_id, e.verified) for e in by_token.user.emails] == [
            (e.email_id, e.verified) for e in stored.emails
        ]

    def test_by_session_jwt(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate(session_jwt=login.session_jwt)
        assert resp.session.session_id == login.session.session_id
        assert resp.user.user_id == login.user_id

    def test_a_jwt_with_a_changed_claim_is_refused_and_the_genuine_one_still_works(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.authenticate(session_jwt=login.session_jwt)  # checked once, remembered
        header, claims, signature = jwt_parts(login.session_jwt)
        claims["sub"] = "user-test-00000000-0000-4000-8000-000000000000"
        forged = jwt_of(header, claims, signature)
        error = error_of(lambda: consumer.sessions.authenticate(session_jwt=forged))
        assert error.error_type == "jwt_invalid_claims"
        assert consumer.sessions.authenticate(session_jwt=login.session_jwt).user.user_id == login.user_id

    def test_returned_jwt_verifies_locally(self, consumer, inbox, server):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate(session_token=login.session_token)
        local = consumer.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt, leeway=leeway(server))
        assert local is not None
        assert local.session_id == login.session.session_id
        assert local.user_id == login.user_id
        assert local.authentication_factors[0].email_factor.email_id == login.method_id

    def test_authenticate_jwt_returns_the_session(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate_jwt(session_jwt=login.session_jwt)
        assert resp.session.session_id == login.session.session_id

    def test_duration_extends_the_session(self, consumer, inbox):
        login = consumer_login(consumer, inbox, minutes=30)
        resp = consumer.sessions.authenticate(session_token=login.session_token, session_duration_minutes=600)
        assert resp.session.expires_at > login.session.expires_at

    def test_without_duration_the_expiry_is_unchanged(self, consumer, inbox):
        login = consumer_login(consumer, inbox, minutes=30)
        resp = consumer.sessions.authenticate(session_token=login.session_token)
        assert resp.session.expires_at == login.session.expires_at

    def test_custom_claims_reach_the_jwt(self, consumer, inbox, server):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate(session_token=login.session_token, session_custom_claims={"tier": "gold"})
        assert resp.session.custom_claims == {"tier": "gold"}
        local = consumer.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt, leeway=leeway(server))
        assert local.custom_claims["tier"] == "gold"

    def test_expired_session_is_session_not_found(self, consumer, inbox, server):
        login = consumer_login(consumer, inbox, minutes=5)
        server.clock.advance(minutes=6)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=login.session_token))
        assert details.error_type == "session_not_found"

    def test_unknown_token_is_session_not_found(self, consumer):
        details = error_of(lambda: consumer.sessions.authenticate(session_token="not-a-session-token"))
        assert details.status_code == 404
        assert details.error_type == "session_not_found"

    def test_token_and_jwt_together_are_rejected(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        details = error_of(
            lambda: consumer.sessions.authenticate(session_token=login.session_token, session_jwt=login.session_jwt)
        )
        assert details.error_type == "too_many_session_arguments"

    def test_bad_duration_is_rejected(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        details = error_of(
            lambda: consumer.sessions.authenticate(session_token=login.session_token, session_duration_minutes=527041)
        )
        assert details.error_type == "invalid_session_duration_minutes"


class TestRevoke:
    def test_revoked_session_is_session_not_found(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.revoke(session_token=login.session_token)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=login.session_token))
        assert details.status_code == 404
        assert details.error_type == "session_not_found"

    def test_by_session_id(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.revoke(session_id=login.session.session_id)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=login.session_token))
        assert details.error_type == "session_not_found"

    def test_by_session_jwt(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.revoke(session_jwt=login.session_jwt)
        details = error_of(lambda: consumer.sessions.authenticate(session_jwt=login.session_jwt))
        assert details.error_type == "session_not_found"

    def test_two_selectors_are_rejected(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        details = error_of(
            lambda: consumer.sessions.revoke(session_id=login.session.session_id, session_token=login.session_token)
        )
        assert details.error_type == "too_many_session_revoke_arguments"

    def test_no_selector_is_rejected(self, consumer):
        assert error_of(lambda: consumer.sessions.revoke()).error_type == "no_session_revoke_arguments"


class TestGet:
    def test_lists_the_users_live_sessions(self, consumer, inbox):
        email = new_email()
        first = consumer_login(consumer, inbox, email=email)
        second = consumer_login(consumer, inbox, email=email)
        resp = consumer.sessions.get(user_id=first.user_id)
        assert {s.session_id for s in resp.sessions} == {first.session.session_id, second.session.session_id}

    def test_revoked_sessions_are_not_listed(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.revoke(session_token=login.session_token)
        assert consumer.sessions.get(user_id=login.user_id).sessions == []

    def test_accepts_the_external_id(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        external_id = f"ext-{uuid.uuid4().hex[:8]}"
        consumer.users.update(user_id=login.user_id, external_id=external_id)
        assert [s.session_id for s in consumer.sessions.get(user_id=external_id).sessions] == [login.session.session_id]

    def test_unknown_user_is_user_not_found(self, consumer):
        assert error_of(lambda: consumer.sessions.get(user_id="user-test-nope")).error_type == "user_not_found"


class TestJWKS:
    def test_get_jwks_lists_the_signing_key(self, consumer, project):
        keys = consumer.sessions.get_jwks(project_id=project.project_id).keys
        assert keys and keys[0].alg == "RS256"


def _b2b_session_token(project: Any, inbox: Any) -> str:
    """A member session of the same project, made by the B2B discovery flow."""
    b2b = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
    email = new_email("member")
    b2b.magic_links.email.discovery.send(email_address=email)
    ist = b2b.magic_links.discovery.authenticate(
        discovery_magic_links_token=inbox.latest_token(email)
    ).intermediate_session_token
    created = b2b.discovery.organizations.create(
        intermediate_session_token=ist,
        organization_name=f"Acme {uuid.uuid4().hex[:6]}",
        session_duration_minutes=60,
    )
    return created.session_token


class TestKinds:
    def test_a_b2b_session_token_is_not_a_consumer_session(self, consumer, inbox, project):
        token = _b2b_session_token(project, inbox)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=token))
        assert details.error_type == "session_not_found"

    def test_a_consumer_session_token_is_not_a_b2b_session(self, consumer, inbox, project):
        login = consumer_login(consumer, inbox)
        b2b = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
        details = error_of(lambda: b2b.sessions.authenticate(session_token=login.session_token))
        assert details.error_type == "session_not_found"

    def test_a_b2b_session_cannot_be_revoked_here(self, consumer, inbox, project):
        token = _b2b_session_token(project, inbox)
        details = error_of(lambda: consumer.sessions.revoke(session_token=token))
        assert details.error_type == "session_not_found"


class TestIsolation:
    def test_another_projects_secret_cannot_authenticate_the_session(self, consumer, inbox, other_project):
        login = consumer_login(consumer, inbox)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        details = error_of(lambda: other.sessions.authenticate(session_token=login.session_token))
        assert details.error_type == "session_not_found"

    def test_another_projects_secret_cannot_use_the_jwt(self, consumer, inbox, other_project):
        login = consumer_login(consumer, inbox)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        details = error_of(lambda: other.sessions.authenticate(session_jwt=login.session_jwt))
        assert details.status_code == 401

    def test_another_projects_secret_cannot_revoke_the_session(self, consumer, inbox, other_project):
        login = consumer_login(consumer, inbox)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        error_of(lambda: other.sessions.revoke(session_id=login.session.session_id))
        assert consumer.sessions.authenticate(session_token=login.session_token).session

    def test_another_projects_sdk_does_not_verify_the_jwt_locally(self, consumer, inbox, other_project, server):
        login = consumer_login(consumer, inbox)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        try:
            verified = other.sessions.authenticate_jwt_local(session_jwt=login.session_jwt, leeway=leeway(server))
        except Exception:  # PyJWKClient finds no key with this kid in the other project's JWKS
            verified = None
        assert verified is None
