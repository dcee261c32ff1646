"""Impersonation through the official Python SDK: tokens minted by `keystile impersonate`,
redeemed by `impersonation.authenticate` (B2B and consumer), and the sessions they start,
which are marked, last 60 minutes and cannot be extended or added to, as Stytch documents
(stytch.com/docs/b2b/api/authenticate-impersonation-token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import stytch

from tests.flows import discovery_signup, error_of, impersonate, new_email
from tests.support import make_project

IMPERSONATOR = "support@keystile.test"


def signed_up_member(b2b: Any, inbox: Any) -> Any:
    return discovery_signup(b2b, inbox, new_email())


def member_token(project: Any, created: Any) -> dict[str, Any]:
    return impersonate(
        project, "--organization", created.organization.organization_id, "--member", created.member.member_id
    )


def the_one_factor(factors: list[Any]) -> Any:
    assert len(factors) == 1, factors
    return factors[0]


def lifetime(session: Any) -> timedelta:
    return session.expires_at - session.started_at


class TestB2BAuthenticate:
    def test_starts_a_session_for_the_member(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        minted = member_token(project, created)

        resp = b2b.impersonation.authenticate(impersonation_token=minted["token"])

        assert resp.member_id == created.member.member_id
        assert resp.organization_id == created.organization.organization_id
        assert resp.member.email_address == created.member.email_address
        assert resp.organization.organization_slug == created.organization.organization_slug
        assert resp.member_authenticated is True
        assert resp.intermediate_session_token == ""
        assert resp.mfa_required is None
        assert resp.session_token and resp.session_jwt
        assert resp.member_session.member_id == created.member.member_id

    def test_the_session_has_exactly_one_impersonated_factor_naming_the_impersonator(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        minted = member_token(project, created)

        session = b2b.impersonation.authenticate(impersonation_token=minted["token"]).member_session

        factor = the_one_factor(session.authentication_factors)
        assert factor.type == "impersonated"
        assert factor.delivery_method == "impersonation"
        assert factor.impersonated_factor.impersonator_email_address == IMPERSONATOR
        assert factor.impersonated_factor.impersonator_id == minted["impersonator_id"]

    def test_the_session_lasts_sixty_minutes(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)

        session = b2b.impersonation.authenticate(impersonation_token=member_token(project, created)["token"])

        assert lifetime(session.member_session) == timedelta(minutes=60)

    def test_the_session_jwt_carries_the_impersonated_factor(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        resp = b2b.impersonation.authenticate(impersonation_token=member_token(project, created)["token"])

        local = b2b.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt)

        factor = the_one_factor(local.authentication_factors)
        assert factor.type == "impersonated"
        assert factor.impersonated_factor.impersonator_email_address == IMPERSONATOR

    def test_sessions_authenticate_accepts_the_session_and_keeps_its_expiry(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        resp = b2b.impersonation.authenticate(impersonation_token=member_token(project, created)["token"])

        again = b2b.sessions.authenticate(session_token=resp.session_token)

        assert again.member_session.member_session_id == resp.member_session.member_session_id
        assert again.member_session.expires_at == resp.member_session.expires_at

    def test_the_session_cannot_be_extended(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        resp = b2b.impersonation.authenticate(impersonation_token=member_token(project, created)["token"])

        assert (
            error_of(
                lambda: b2b.sessions.authenticate(session_token=resp.session_token, session_duration_minutes=120)
            ).error_type
            == "session_not_mutable_impersonated"
        )
        assert b2b.sessions.authenticate(session_token=resp.session_token).member_session.expires_at == (
            resp.member_session.expires_at
        )

    def test_no_other_factor_can_be_added(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        resp = b2b.impersonation.authenticate(impersonation_token=member_token(project, created)["token"])
        email = created.member.email_address
        b2b.magic_links.email.login_or_signup(organization_id=created.organization.organization_id, email_address=email)

        assert (
            error_of(
                lambda: b2b.magic_links.authenticate(
                    magic_links_token=inbox.latest_token(email), session_token=resp.session_token
                )
            ).error_type
            == "session_not_mutable_impersonated"
        )
        factors = b2b.sessions.authenticate(session_token=resp.session_token).member_session.authentication_factors
        assert [f.type for f in factors] == ["impersonated"]

    def test_the_session_cannot_be_exchanged_for_another_organization(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        resp = b2b.impersonation.authenticate(impersonation_token=member_token(project, created)["token"])

        assert (
            error_of(
                lambda: b2b.sessions.exchange(
                    organization_id=created.organization.organization_id, session_token=resp.session_token
                )
            ).error_type
            == "session_not_mutable_impersonated"
        )

    def test_the_session_ends_after_sixty_minutes(self, b2b, inbox, project, server):
        created = signed_up_member(b2b, inbox)
        resp = b2b.impersonation.authenticate(impersonation_token=member_token(project, created)["token"])

        server.clock.advance(minutes=61)

        assert (
            error_of(lambda: b2b.sessions.authenticate(session_token=resp.session_token)).error_type
            == "session_not_found"
        )

    def test_the_session_can_be_revoked(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        resp = b2b.impersonation.authenticate(impersonation_token=member_token(project, created)["token"])

        b2b.sessions.revoke(member_session_id=resp.member_session.member_session_id)

        assert (
            error_of(lambda: b2b.sessions.authenticate(session_token=resp.session_token)).error_type
            == "session_not_found"
        )

    def test_a_used_token_is_refused(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        token = member_token(project, created)["token"]
        b2b.impersonation.authenticate(impersonation_token=token)

        assert (
            error_of(lambda: b2b.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )

    def test_an_expired_token_is_refused(self, b2b, inbox, project, server):
        created = signed_up_member(b2b, inbox)
        token = member_token(project, created)["token"]

        server.clock.advance(minutes=5, seconds=1)

        assert (
            error_of(lambda: b2b.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )

    def test_an_unknown_token_is_refused(self, b2b):
        assert (
            error_of(lambda: b2b.impersonation.authenticate(impersonation_token="not-a-token")).error_type
            == "unable_to_auth_impersonation_token"
        )

    def test_another_projects_token_is_refused_and_stays_usable_there(self, b2b, inbox, server):
        other = make_project(server)
        other_b2b = stytch.B2BClient(other.project_id, other.secret, environment=server.base_url)
        created = discovery_signup(other_b2b, inbox, new_email())
        token = member_token(other, created)["token"]

        assert (
            error_of(lambda: b2b.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )
        assert other_b2b.impersonation.authenticate(impersonation_token=token).member_id == created.member.member_id

    def test_a_user_token_is_not_a_member_token(self, b2b, consumer, project):
        user = consumer.users.create(email=new_email())
        token = impersonate(project, "--user", user.user_id)["token"]

        assert (
            error_of(lambda: b2b.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )
        assert consumer.impersonation.authenticate(impersonation_token=token).user_id == user.user_id

    def test_a_member_deleted_after_minting_cannot_be_impersonated(self, b2b, inbox, project):
        created = signed_up_member(b2b, inbox)
        token = member_token(project, created)["token"]
        b2b.organizations.members.delete(
            organization_id=created.organization.organization_id, member_id=created.member.member_id
        )

        assert (
            error_of(lambda: b2b.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )


class TestConsumerAuthenticate:
    def test_starts_a_session_for_the_user(self, consumer, project):
        email = new_email()
        user = consumer.users.create(email=email)
        minted = impersonate(project, "--user", user.user_id)

        resp = consumer.impersonation.authenticate(impersonation_token=minted["token"])

        assert resp.user_id == user.user_id
        assert resp.user.emails[0].email == email
        assert resp.session_token and resp.session_jwt
        assert resp.session.user_id == user.user_id
        assert lifetime(resp.session) == timedelta(minutes=60)

    def test_the_session_has_exactly_one_impersonated_factor_naming_the_impersonator(self, consumer, project):
        user = consumer.users.create(email=new_email())
        minted = impersonate(project, "--user", user.user_id, "--impersonator-id", "staff-42")

        session = consumer.impersonation.authenticate(impersonation_token=minted["token"]).session

        factor = the_one_factor(session.authentication_factors)
        assert factor.type == "impersonated"
        assert factor.delivery_method == "impersonation"
        assert factor.impersonated_factor.impersonator_id == "staff-42"
        assert factor.impersonated_factor.impersonator_email_address == IMPERSONATOR

    def test_the_session_jwt_carries_the_impersonated_factor(self, consumer, project):
        user = consumer.users.create(email=new_email())
        resp = consumer.impersonation.authenticate(
            impersonation_token=impersonate(project, "--user", user.user_id)["token"]
        )

        local = consumer.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt)

        assert [f.type for f in local.authentication_factors] == ["impersonated"]

    def test_the_session_cannot_be_extended(self, consumer, project):
        user = consumer.users.create(email=new_email())
        resp = consumer.impersonation.authenticate(
            impersonation_token=impersonate(project, "--user", user.user_id)["token"]
        )

        assert (
            error_of(
                lambda: consumer.sessions.authenticate(session_token=resp.session_token, session_duration_minutes=90)
            ).error_type
            == "session_not_mutable_impersonated"
        )
        assert (
            error_of(
                lambda: consumer.sessions.authenticate(
                    session_token=resp.session_token, session_custom_claims={"team": "support"}
                )
            ).error_type
            == "session_not_mutable_impersonated"
        )
        assert consumer.sessions.authenticate(session_token=resp.session_token).session.expires_at == (
            resp.session.expires_at
        )

    def test_no_other_factor_can_be_added(self, consumer, inbox, project):
        email = new_email()
        user = consumer.users.create(email=email)
        resp = consumer.impersonation.authenticate(
            impersonation_token=impersonate(project, "--user", user.user_id)["token"]
        )
        consumer.magic_links.email.send(email=email)

        assert (
            error_of(
                lambda: consumer.magic_links.authenticate(
                    token=inbox.latest_token(email), session_token=resp.session_token, session_duration_minutes=60
                )
            ).error_type
            == "session_not_mutable_impersonated"
        )

    def test_a_used_token_is_refused(self, consumer, project):
        user = consumer.users.create(email=new_email())
        token = impersonate(project, "--user", user.user_id)["token"]
        consumer.impersonation.authenticate(impersonation_token=token)

        assert (
            error_of(lambda: consumer.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )

    def test_an_expired_token_is_refused(self, consumer, project, server):
        user = consumer.users.create(email=new_email())
        token = impersonate(project, "--user", user.user_id)["token"]

        server.clock.advance(minutes=6)

        assert (
            error_of(lambda: consumer.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )

    def test_another_projects_token_is_refused(self, consumer, server):
        other = make_project(server)
        other_consumer = stytch.Client(other.project_id, other.secret, environment=server.base_url)
        user = other_consumer.users.create(email=new_email())
        token = impersonate(other, "--user", user.user_id)["token"]

        assert (
            error_of(lambda: consumer.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )

    def test_a_member_token_is_not_a_user_token(self, b2b, consumer, inbox, project):
        created = signed_up_member(b2b, inbox)
        token = member_token(project, created)["token"]

        assert (
            error_of(lambda: consumer.impersonation.authenticate(impersonation_token=token)).error_type
            == "unable_to_auth_impersonation_token"
        )

    def test_wrong_credentials_are_refused(self, project):
        wrong = stytch.Client(project.project_id, "secret-test-wrong-wrong-wrong", environment=project.server.base_url)

        assert (
            error_of(lambda: wrong.impersonation.authenticate(impersonation_token="x")).error_type
            == "unauthorized_credentials"
        )
