"""Organization email magic links through the official SDK: login or signup, invites, and
their authentication (reference §3, §4, §6)."""

from __future__ import annotations

import pytest
from stytch.core.response_base import StytchError

from keystile.core import crypto
from tests.flows import discovery_signup, error_type, jit_org, make_org, new_email
from tests.support import link_params


class TestLoginOrSignup:
    def test_new_member_gets_a_signup_link_when_jit_allows(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("bob")
        resp = b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        assert resp.member_created is True
        assert resp.member.status == "pending"
        assert resp.member.email_address_verified is False
        assert resp.organization.organization_id == org.organization_id
        message = inbox.latest(email)
        assert "sign" in message["subject"].lower()
        params = link_params(inbox.latest_link(email))
        assert params["stytch_token_type"] == "multi_tenant_magic_links"
        assert params["slug"] == org.organization_slug
        assert params["token"]

    def test_signup_link_activates_the_member(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("bob")
        created = b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert resp.member_id == created.member_id
        assert resp.member.status == "active"
        assert resp.member.email_address_verified is True

    def test_active_member_then_gets_a_login_link(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("bob")
        b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        resp = b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        assert resp.member_created is False
        assert resp.member.status == "active"
        message = inbox.latest(email)
        assert message["subject"].lower().startswith("your login link")
        assert link_params(inbox.latest_link(email))["stytch_token_type"] == "multi_tenant_magic_links"

    def test_accepts_the_organization_slug(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        resp = b2b.magic_links.email.login_or_signup(
            organization_id=org.organization_slug, email_address=new_email("bob")
        )
        assert resp.organization.organization_id == org.organization_id

    def test_invited_member_gets_a_signup_link_and_stays_invited(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email("bob")
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        resp = b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        assert resp.member_created is False
        assert resp.member.status == "invited"
        assert "sign" in inbox.latest(email)["subject"].lower()

    def test_new_member_without_jit_is_refused_and_nothing_is_sent(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email("bob")
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        assert caught.value.details.status_code == 403
        assert error_type(caught) == "email_jit_provisioning_not_allowed"
        assert inbox.messages(email) == []

    def test_domain_outside_the_allowed_list_is_refused(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.login_or_signup(
                organization_id=org.organization_id, email_address=new_email("eve", "other.test")
            )
        assert error_type(caught) == "email_jit_provisioning_not_allowed"

    def test_unknown_organization_is_not_found(self, b2b):
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.login_or_signup(organization_id="no-such-org", email_address=new_email())
        assert caught.value.details.status_code == 404
        assert error_type(caught) == "organization_not_found"

    def test_login_link_expires_after_sixty_minutes(self, b2b, inbox, server):
        org = jit_org(b2b, inbox)
        email = new_email("bob")
        b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        server.clock.advance(minutes=61)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert caught.value.details.status_code == 401
        assert error_type(caught) == "unable_to_auth_magic_link"

    def test_login_redirect_url_outside_the_allowlist_is_refused(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("bob")
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.login_or_signup(
                organization_id=org.organization_id,
                email_address=email,
                signup_redirect_url="https://evil.example.test/",
            )
        assert error_type(caught) == "invalid_signup_redirect_url"
        assert inbox.messages(email) == []


class TestInvite:
    def test_invite_creates_an_invited_member_and_emails_a_link(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email("bob", "elsewhere.test")
        resp = b2b.magic_links.email.invite(
            organization_id=org.organization_id,
            email_address=email,
            name="Bob",
            trusted_metadata={"team": "ops"},
            untrusted_metadata={"color": "blue"},
            roles=["stytch_admin"],
        )
        assert resp.member.status == "invited"
        assert resp.member.name == "Bob"
        assert resp.member.trusted_metadata == {"team": "ops"}
        assert resp.member.untrusted_metadata == {"color": "blue"}
        assert resp.member.is_admin is True
        message = inbox.latest(email)
        assert "invited" in message["subject"].lower()
        params = link_params(inbox.latest_link(email))
        assert params["stytch_token_type"] == "multi_tenant_magic_links"
        assert params["slug"] == org.organization_slug

    def test_invite_then_authenticate_makes_the_member_active(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email("bob", "elsewhere.test")
        invited = b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert resp.member_id == invited.member_id
        assert resp.member.status == "active"
        assert resp.member.email_address_verified is True
        assert resp.member_authenticated is True

    def test_invite_link_lasts_a_week(self, b2b, inbox, server):
        org = make_org(b2b, inbox)
        email = new_email("bob", "elsewhere.test")
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        server.clock.advance(days=6)
        assert b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email)).member.status == "active"

    def test_invited_by_names_the_inviter_in_the_email(self, b2b, inbox):
        created = discovery_signup(b2b, inbox, new_email("founder"), "Acme")
        email = new_email("bob", "elsewhere.test")
        b2b.magic_links.email.invite(
            organization_id=created.organization.organization_id,
            email_address=email,
            invited_by_member_id=created.member.member_id,
        )
        assert created.member.email_address in inbox.latest(email)["text"]

    def test_pending_member_becomes_invited(self, b2b, inbox):
        org = make_org(
            b2b,
            inbox,
            email_allowed_domains=["acme.test"],
            email_jit_provisioning="RESTRICTED",
            email_invites="ALL_ALLOWED",
        )
        email = new_email("bob")
        pending = b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        resp = b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        assert resp.member_id == pending.member_id
        assert resp.member.status == "invited"

    def test_active_member_cannot_be_invited(self, b2b, inbox):
        created = discovery_signup(b2b, inbox, new_email("founder"), "Acme")
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.invite(
                organization_id=created.organization.organization_id, email_address=created.member.email_address
            )
        assert caught.value.details.status_code == 400
        assert error_type(caught) == "member_already_active"

    def test_organization_without_invites_refuses(self, b2b, inbox):
        org = make_org(b2b, inbox, email_invites="NOT_ALLOWED")
        email = new_email("bob")
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        assert caught.value.details.status_code == 403
        assert error_type(caught) == "invalid_email_for_invites"
        assert inbox.messages(email) == []

    def test_restricted_invites_need_an_allowed_domain(self, b2b, inbox):
        org = make_org(b2b, inbox, email_allowed_domains=["acme.test"], email_invites="RESTRICTED")
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.invite(
                organization_id=org.organization_id, email_address=new_email("eve", "other.test")
            )
        assert error_type(caught) == "invalid_email_for_invites"
        resp = b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=new_email("bob"))
        assert resp.member.status == "invited"

    @pytest.mark.parametrize("minutes", [4, 10081])
    def test_expiration_out_of_range_is_refused(self, b2b, inbox, minutes):
        org = make_org(b2b, inbox)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.invite(
                organization_id=org.organization_id, email_address=new_email(), invite_expiration_minutes=minutes
            )
        assert error_type(caught) == "invalid_expiration_minutes"


class TestAuthenticate:
    def invite(self, b2b, inbox, **send):
        org = make_org(b2b, inbox)
        email = new_email("bob", "elsewhere.test")
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email, **send)
        return org, inbox.latest_token(email)

    def test_response_carries_a_member_session(self, b2b, inbox):
        org, token = self.invite(b2b, inbox)
        resp = b2b.magic_links.authenticate(magic_links_token=token)
        assert resp.organization_id == org.organization_id
        assert resp.method_id.startswith("email-test-")
        assert resp.reset_sessions is False
        assert resp.intermediate_session_token == ""
        assert resp.member_session.member_id == resp.member_id
        factor = resp.member_session.authentication_factors[0]
        assert factor.type == "magic_link" and factor.delivery_method == "email"
        assert factor.email_factor.email_id == resp.method_id
        session = resp.member_session
        assert (session.expires_at - session.started_at).total_seconds() == pytest.approx(3600, abs=1)
        assert b2b.sessions.authenticate(session_token=resp.session_token).member.member_id == resp.member_id

    def test_session_duration_and_claims(self, b2b, inbox):
        _, token = self.invite(b2b, inbox)
        resp = b2b.magic_links.authenticate(
            magic_links_token=token, session_duration_minutes=30, session_custom_claims={"k": "v"}
        )
        session = resp.member_session
        assert (session.expires_at - session.started_at).total_seconds() == pytest.approx(1800, abs=1)
        assert session.custom_claims == {"k": "v"}

    def test_existing_session_of_the_same_member_is_extended(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("bob")
        b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        first = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)
        again = b2b.magic_links.authenticate(
            magic_links_token=inbox.latest_token(email), session_token=first.session_token
        )
        assert again.member_session.member_session_id == first.member_session.member_session_id

    def test_invalid_session_duration_is_refused_and_keeps_the_link(self, b2b, inbox):
        _, token = self.invite(b2b, inbox)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=token, session_duration_minutes=1)
        assert error_type(caught) == "invalid_session_duration_minutes"
        assert b2b.magic_links.authenticate(magic_links_token=token).member_authenticated is True

    def test_used_link_is_unable_to_auth(self, b2b, inbox):
        _, token = self.invite(b2b, inbox)
        b2b.magic_links.authenticate(magic_links_token=token)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=token)
        assert caught.value.details.status_code == 401
        assert error_type(caught) == "unable_to_auth_magic_link"

    def test_unknown_link_is_not_found(self, b2b):
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=crypto.new_token())
        assert caught.value.details.status_code == 404
        assert error_type(caught) == "magic_link_not_found"

    def test_discovery_link_is_not_an_organization_link(self, b2b, inbox):
        email = new_email()
        b2b.magic_links.email.discovery.send(email_address=email)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert error_type(caught) == "magic_link_not_found"

    def test_pkce_wrong_verifier_fails_and_keeps_the_link(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("bob")
        verifier = "verifier-of-the-browser-that-asked"
        b2b.magic_links.email.login_or_signup(
            organization_id=org.organization_id,
            email_address=email,
            pkce_code_challenge=crypto.pkce_challenge(verifier),
        )
        token = inbox.latest_token(email)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=token, pkce_code_verifier="not-it")
        assert error_type(caught) == "pkce_mismatch"
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=token)
        assert error_type(caught) == "pkce_expected_code_verifier"
        assert b2b.magic_links.authenticate(magic_links_token=token, pkce_code_verifier=verifier).member_authenticated
