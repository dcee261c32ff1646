"""Discovery login through the official SDK: discovery magic link → intermediate session →
list, exchange or create an organization (reference §6)."""

from __future__ import annotations

import pytest
from stytch.core.response_base import StytchError

from keystile.core import crypto
from keystile.core.redirect_urls import RedirectType
from tests.flows import discover, error_type, jit_org, new_email
from tests.support import allow_redirect, link_params


def create_org(b2b, inbox, email: str, **options):
    ist = discover(b2b, inbox, email).intermediate_session_token
    return b2b.discovery.organizations.create(intermediate_session_token=ist, **options)


class TestDiscoverySend:
    def test_link_goes_to_the_default_discovery_url(self, b2b, inbox):
        email = new_email()
        resp = b2b.magic_links.email.discovery.send(email_address=email)
        assert resp.status_code == 200
        link = inbox.latest_link(email)
        assert link.startswith("http://localhost:3000/authenticate?")
        params = link_params(link)
        assert params["stytch_token_type"] == "discovery"
        assert "slug" not in params
        assert len(params["token"]) >= 40

    def test_custom_redirect_url_keeps_its_own_query(self, b2b, inbox, project):
        allow_redirect(project, "https://app.example.test/discover?tenant=eu", RedirectType.DISCOVERY)
        email = new_email()
        b2b.magic_links.email.discovery.send(
            email_address=email, discovery_redirect_url="https://app.example.test/discover?tenant=eu"
        )
        link = inbox.latest_link(email)
        assert link.startswith("https://app.example.test/discover?")
        params = link_params(link)
        assert params["tenant"] == "eu"
        assert params["stytch_token_type"] == "discovery"
        assert (
            b2b.magic_links.discovery.authenticate(discovery_magic_links_token=params["token"]).email_address == email
        )

    def test_redirect_url_outside_the_allowlist_is_refused_and_sends_nothing(self, b2b, inbox):
        email = new_email()
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.discovery.send(
                email_address=email, discovery_redirect_url="https://evil.example.test/steal"
            )
        assert caught.value.details.status_code == 400
        assert error_type(caught) == "invalid_discovery_redirect_url"
        assert inbox.messages(email) == []

    @pytest.mark.parametrize("minutes", [4, 10081])
    def test_expiration_out_of_range_is_refused(self, b2b, inbox, minutes):
        email = new_email()
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.discovery.send(email_address=email, discovery_expiration_minutes=minutes)
        assert error_type(caught) == "invalid_expiration_minutes"
        assert inbox.messages(email) == []


class TestDiscoveryAuthenticate:
    def test_new_email_gets_an_intermediate_session_and_no_organizations(self, b2b, inbox):
        email = new_email()
        resp = discover(b2b, inbox, email)
        assert resp.email_address == email
        assert resp.intermediate_session_token
        assert resp.intermediate_session_token_expires_at is not None
        assert resp.discovered_organizations == []

    def test_used_link_is_unable_to_auth(self, b2b, inbox):
        email = new_email()
        b2b.magic_links.email.discovery.send(email_address=email)
        token = inbox.latest_token(email)
        b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
        assert caught.value.details.status_code == 401
        assert error_type(caught) == "unable_to_auth_magic_link"

    def test_unknown_link_is_not_found(self, b2b):
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.discovery.authenticate(discovery_magic_links_token=crypto.new_token())
        assert caught.value.details.status_code == 404
        assert error_type(caught) == "magic_link_not_found"

    def test_link_expires_after_sixty_minutes(self, b2b, inbox, server):
        email = new_email()
        b2b.magic_links.email.discovery.send(email_address=email)
        token = inbox.latest_token(email)
        server.clock.advance(minutes=61)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
        assert caught.value.details.status_code == 401
        assert error_type(caught) == "unable_to_auth_magic_link"

    def test_organization_login_link_is_not_a_discovery_link(self, b2b, inbox):
        org = create_org(b2b, inbox, new_email(), organization_name="Acme").organization
        email = new_email()
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.discovery.authenticate(discovery_magic_links_token=inbox.latest_token(email))
        assert error_type(caught) == "magic_link_not_found"


class TestPKCE:
    VERIFIER = "a-one-time-secret-of-the-browser-that-started-the-login"

    def send(self, b2b, inbox) -> str:
        email = new_email()
        b2b.magic_links.email.discovery.send(
            email_address=email, pkce_code_challenge=crypto.pkce_challenge(self.VERIFIER)
        )
        return inbox.latest_token(email)

    def test_challenge_requires_the_verifier(self, b2b, inbox):
        token = self.send(b2b, inbox)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
        assert error_type(caught) == "pkce_expected_code_verifier"

    def test_wrong_verifier_fails(self, b2b, inbox):
        token = self.send(b2b, inbox)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token, pkce_code_verifier="wrong")
        assert error_type(caught) == "pkce_mismatch"

    def test_failed_attempt_does_not_consume_the_link(self, b2b, inbox):
        token = self.send(b2b, inbox)
        with pytest.raises(StytchError):
            b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token, pkce_code_verifier="wrong")
        resp = b2b.magic_links.discovery.authenticate(
            discovery_magic_links_token=token, pkce_code_verifier=self.VERIFIER
        )
        assert resp.intermediate_session_token

    def test_verifier_without_a_challenge_fails(self, b2b, inbox):
        email = new_email()
        b2b.magic_links.email.discovery.send(email_address=email)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.discovery.authenticate(
                discovery_magic_links_token=inbox.latest_token(email), pkce_code_verifier=self.VERIFIER
            )
        assert error_type(caught) == "pkce_did_not_expect_code_verifier"


class TestCreateOrganization:
    def test_creator_is_an_active_verified_admin_with_a_session(self, b2b, inbox):
        email = new_email()
        resp = create_org(b2b, inbox, email, organization_name="Acme Rockets")
        assert resp.member_authenticated is True
        assert resp.intermediate_session_token == ""
        assert resp.organization.organization_name == "Acme Rockets"
        assert resp.organization.organization_slug == "acme-rockets"
        assert resp.member.email_address == email
        assert resp.member.status == "active"
        assert resp.member.email_address_verified is True
        assert resp.member.is_admin is True
        assert {r.role_id for r in resp.member.roles} >= {"stytch_admin", "stytch_member"}
        assert resp.member_session.member_id == resp.member.member_id
        assert resp.member_session.organization_slug == "acme-rockets"
        assert resp.session_token and resp.session_jwt

    def test_session_authenticates(self, b2b, inbox):
        created = create_org(b2b, inbox, new_email(), organization_name="Acme")
        auth = b2b.sessions.authenticate(session_token=created.session_token)
        assert auth.member.member_id == created.member.member_id
        assert auth.organization.organization_id == created.organization.organization_id

    def test_session_lasts_sixty_minutes_by_default(self, b2b, inbox):
        session = create_org(b2b, inbox, new_email(), organization_name="Acme").member_session
        assert (session.expires_at - session.started_at).total_seconds() == pytest.approx(3600, abs=1)

    def test_session_duration_and_custom_claims_are_applied(self, b2b, inbox):
        resp = create_org(
            b2b,
            inbox,
            new_email(),
            organization_name="Acme",
            session_duration_minutes=120,
            session_custom_claims={"plan": "pro"},
        )
        session = resp.member_session
        assert (session.expires_at - session.started_at).total_seconds() == pytest.approx(7200, abs=1)
        assert session.custom_claims == {"plan": "pro"}

    def test_name_and_slug_default_from_the_email_domain(self, b2b, inbox):
        org = create_org(b2b, inbox, new_email(domain="rockets.test")).organization
        assert org.organization_name == "rockets"
        assert org.organization_slug.startswith("rockets")

    def test_name_defaults_from_the_local_part_for_common_providers(self, b2b, inbox):
        email = new_email("grace", "gmail.com")
        org = create_org(b2b, inbox, email).organization
        assert org.organization_name == email.split("@")[0]

    def test_policy_fields_are_applied(self, b2b, inbox):
        org = create_org(
            b2b,
            inbox,
            new_email(),
            organization_name="Acme",
            email_allowed_domains=["acme.test"],
            email_jit_provisioning="RESTRICTED",
            mfa_policy="OPTIONAL",
            trusted_metadata={"tier": "gold"},
        ).organization
        assert org.email_allowed_domains == ["acme.test"]
        assert org.email_jit_provisioning == "RESTRICTED"
        assert org.trusted_metadata == {"tier": "gold"}

    def test_invalid_policy_is_refused_and_keeps_the_intermediate_session(self, b2b, inbox):
        ist = discover(b2b, inbox, new_email()).intermediate_session_token
        with pytest.raises(StytchError) as caught:
            b2b.discovery.organizations.create(
                intermediate_session_token=ist, organization_name="Acme", email_jit_provisioning="SOMETIMES"
            )
        assert caught.value.details.status_code == 400
        created = b2b.discovery.organizations.create(intermediate_session_token=ist, organization_name="Acme")
        assert created.member_authenticated is True

    def test_intermediate_session_is_consumed(self, b2b, inbox):
        ist = discover(b2b, inbox, new_email()).intermediate_session_token
        b2b.discovery.organizations.create(intermediate_session_token=ist, organization_name="Acme")
        with pytest.raises(StytchError) as caught:
            b2b.discovery.organizations.create(intermediate_session_token=ist, organization_name="Acme 2")
        assert caught.value.details.status_code == 404
        assert error_type(caught) == "intermediate_session_not_found"

    def test_intermediate_session_expires_after_ten_minutes(self, b2b, inbox, server):
        ist = discover(b2b, inbox, new_email()).intermediate_session_token
        server.clock.advance(minutes=11)
        with pytest.raises(StytchError) as caught:
            b2b.discovery.organizations.create(intermediate_session_token=ist, organization_name="Acme")
        assert caught.value.details.status_code == 404
        assert error_type(caught) == "intermediate_session_not_found"


class TestDiscoveredOrganizations:
    def test_returning_member_finds_their_organization_as_active_member(self, b2b, inbox):
        email = new_email()
        org = create_org(b2b, inbox, email, organization_name="Acme").organization
        found = discover(b2b, inbox, email).discovered_organizations
        assert len(found) == 1
        assert found[0].organization.organization_id == org.organization_id
        assert found[0].membership.type == "active_member"
        assert found[0].membership.member.email_address == email
        assert found[0].member_authenticated is False
        assert found[0].primary_required is None
        assert found[0].mfa_required is None

    def test_invited_person_finds_the_organization_as_invited_member(self, b2b, inbox):
        org = create_org(b2b, inbox, new_email(), organization_name="Acme").organization
        guest = new_email("bob", "elsewhere.test")
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=guest)
        found = discover(b2b, inbox, guest).discovered_organizations
        assert [(d.organization.organization_id, d.membership.type) for d in found] == [
            (org.organization_id, "invited_member")
        ]
        assert found[0].membership.member.status == "invited"

    def test_allowed_domain_with_jit_is_eligible_to_join(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        found = discover(b2b, inbox, new_email("bob")).discovered_organizations
        assert [(d.organization.organization_id, d.membership.type) for d in found] == [
            (org.organization_id, "eligible_to_join_by_email_domain")
        ]
        assert found[0].membership.member is None

    def test_other_domains_are_not_eligible(self, b2b, inbox):
        jit_org(b2b, inbox)
        assert discover(b2b, inbox, new_email("eve", "other.test")).discovered_organizations == []

    def test_jit_without_a_verified_member_on_the_domain_is_not_listed(self, b2b, inbox):
        # Anyone can create an organization claiming a domain; it is only advertised to that
        # domain once someone with a verified address there belongs to it.
        create_org(
            b2b,
            inbox,
            new_email("mallory", "evil.test"),
            organization_name="Totally Acme",
            email_allowed_domains=["acme.test"],
            email_jit_provisioning="RESTRICTED",
        )
        assert discover(b2b, inbox, new_email("bob")).discovered_organizations == []

    def test_restricted_auth_methods_without_magic_links_require_a_primary_factor(self, b2b, inbox):
        email = new_email()
        create_org(
            b2b,
            inbox,
            email,
            organization_name="SSO only",
            auth_methods="RESTRICTED",
            allowed_auth_methods=["sso", "password"],
        )
        found = discover(b2b, inbox, email).discovered_organizations
        assert found[0].primary_required.allowed_auth_methods == ["sso", "password"]


class TestListOrganizations:
    def test_by_intermediate_session_does_not_consume_it(self, b2b, inbox):
        email = new_email()
        org = create_org(b2b, inbox, email, organization_name="Acme").organization
        ist = discover(b2b, inbox, email).intermediate_session_token
        listed = b2b.discovery.organizations.list(intermediate_session_token=ist)
        assert listed.email_address == email
        assert listed.organization_id_hint is None
        assert [d.organization.organization_id for d in listed.discovered_organizations] == [org.organization_id]
        exchanged = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=org.organization_id
        )
        assert exchanged.member_authenticated is True

    def test_by_member_session_lists_memberships_only(self, b2b, inbox):
        jit_org(b2b, inbox)
        email = new_email("bob")
        mine = create_org(b2b, inbox, email, organization_name="Bob's")
        listed = b2b.discovery.organizations.list(session_token=mine.session_token)
        assert listed.email_address == email
        assert [(d.organization.organization_id, d.membership.type) for d in listed.discovered_organizations] == [
            (mine.organization.organization_id, "active_member")
        ]

    def test_by_member_session_jwt(self, b2b, inbox):
        mine = create_org(b2b, inbox, new_email(), organization_name="Acme")
        listed = b2b.discovery.organizations.list(session_jwt=mine.session_jwt)
        assert listed.discovered_organizations[0].organization.organization_id == mine.organization.organization_id

    def test_needs_a_token(self, b2b):
        with pytest.raises(StytchError) as caught:
            b2b.discovery.organizations.list()
        assert caught.value.details.status_code == 400

    def test_refuses_several_tokens(self, b2b, inbox):
        mine = create_org(b2b, inbox, new_email(), organization_name="Acme")
        with pytest.raises(StytchError) as caught:
            b2b.discovery.organizations.list(session_token=mine.session_token, session_jwt=mine.session_jwt)
        assert caught.value.details.status_code == 400

    def test_expired_intermediate_session_is_not_found(self, b2b, inbox, server):
        ist = discover(b2b, inbox, new_email()).intermediate_session_token
        server.clock.advance(minutes=11)
        with pytest.raises(StytchError) as caught:
            b2b.discovery.organizations.list(intermediate_session_token=ist)
        assert error_type(caught) == "intermediate_session_not_found"


class TestExchange:
    def test_active_member_logs_in(self, b2b, inbox):
        email = new_email()
        created = create_org(b2b, inbox, email, organization_name="Acme")
        ist = discover(b2b, inbox, email).intermediate_session_token
        resp = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=created.organization.organization_id
        )
        assert resp.member_authenticated is True
        assert resp.intermediate_session_token == ""
        assert resp.member_id == created.member.member_id
        assert resp.session_token and resp.session_token != created.session_token
        assert b2b.sessions.authenticate(session_token=resp.session_token).member.member_id == resp.member_id

    def test_accepts_the_organization_slug(self, b2b, inbox):
        email = new_email()
        created = create_org(b2b, inbox, email, organization_name="Acme", organization_slug="acme-slug")
        ist = discover(b2b, inbox, email).intermediate_session_token
        resp = b2b.discovery.intermediate_sessions.exchange(intermediate_session_token=ist, organization_id="acme-slug")
        assert resp.organization.organization_id == created.organization.organization_id

    def test_invited_member_becomes_active(self, b2b, inbox):
        org = create_org(b2b, inbox, new_email(), organization_name="Acme").organization
        guest = new_email("bob", "elsewhere.test")
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=guest)
        ist = discover(b2b, inbox, guest).intermediate_session_token
        resp = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=org.organization_id
        )
        assert resp.member.status == "active"
        assert resp.member.email_address_verified is True

    def test_jit_creates_an_active_member(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("bob")
        ist = discover(b2b, inbox, email).intermediate_session_token
        resp = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=org.organization_id
        )
        assert resp.member.email_address == email
        assert resp.member.status == "active"
        assert resp.member.email_address_verified is True
        assert resp.member.is_admin is False
        assert resp.member_session.organization_id == org.organization_id

    def test_organization_you_cannot_join_is_refused_and_keeps_the_intermediate_session(self, b2b, inbox):
        closed = create_org(b2b, inbox, new_email(), organization_name="Closed").organization
        open_org = jit_org(b2b, inbox)
        ist = discover(b2b, inbox, new_email("bob")).intermediate_session_token
        with pytest.raises(StytchError) as caught:
            b2b.discovery.intermediate_sessions.exchange(
                intermediate_session_token=ist, organization_id=closed.organization_id
            )
        assert caught.value.details.status_code == 403
        assert error_type(caught) == "email_jit_provisioning_not_allowed"
        resp = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=open_org.organization_id
        )
        assert resp.member_authenticated is True

    def test_unknown_organization_is_not_found(self, b2b, inbox):
        ist = discover(b2b, inbox, new_email()).intermediate_session_token
        with pytest.raises(StytchError) as caught:
            b2b.discovery.intermediate_sessions.exchange(
                intermediate_session_token=ist, organization_id="organization-test-00000000-0000-0000-0000-000000000000"
            )
        assert error_type(caught) == "organization_not_found"

    def test_intermediate_session_is_consumed(self, b2b, inbox):
        email = new_email()
        org = create_org(b2b, inbox, email, organization_name="Acme").organization
        ist = discover(b2b, inbox, email).intermediate_session_token
        b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=org.organization_id
        )
        with pytest.raises(StytchError) as caught:
            b2b.discovery.intermediate_sessions.exchange(
                intermediate_session_token=ist, organization_id=org.organization_id
            )
        assert caught.value.details.status_code == 404
        assert error_type(caught) == "intermediate_session_not_found"

    def test_restricted_auth_methods_return_primary_required_and_keep_the_token(self, b2b, inbox):
        email = new_email()
        org = create_org(
            b2b,
            inbox,
            email,
            organization_name="SSO only",
            auth_methods="RESTRICTED",
            allowed_auth_methods=["sso"],
        ).organization
        ist = discover(b2b, inbox, email).intermediate_session_token
        resp = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=org.organization_id
        )
        assert resp.member_authenticated is False
        assert resp.session_token == "" and resp.member_session is None
        assert resp.primary_required.allowed_auth_methods == ["sso"]
        assert resp.intermediate_session_token == ist
        assert b2b.discovery.organizations.list(intermediate_session_token=ist).email_address == email


class TestFullDiscoveryFlow:
    def test_send_authenticate_create_and_use_the_session(self, b2b, inbox, project):
        allow_redirect(project, "https://app.example.test/login?next=%2Fhome", RedirectType.DISCOVERY)
        email = new_email()
        b2b.magic_links.email.discovery.send(
            email_address=email, discovery_redirect_url="https://app.example.test/login?next=%2Fhome"
        )
        params = link_params(inbox.latest_link(email))
        assert params["next"] == "/home" and params["stytch_token_type"] == "discovery"
        discovered = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=params["token"])
        created = b2b.discovery.organizations.create(
            intermediate_session_token=discovered.intermediate_session_token, organization_name="Acme"
        )
        assert created.member.status == "active"
        assert "stytch_admin" in [r.role_id for r in created.member.roles]
        session = b2b.sessions.authenticate(session_token=created.session_token)
        assert session.member_session.member_session_id == created.member_session.member_session_id
