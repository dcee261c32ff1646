"""Organization auth policy, enforced by every flow, through the official SDK: each setting
with an allowed and a refused case, and its validation errors (4xx, nothing written)."""

from __future__ import annotations

from typing import Any

import pytest
from stytch.core.response_base import StytchError

from tests.flows import discover, error_type, jit_org, make_org, new_email


def refused_update(b2b: Any, org: Any, expected: str, **settings: Any) -> None:
    """The update fails with `expected` (a 400) and the organization is unchanged."""
    before = b2b.organizations.get(organization_id=org.organization_id).organization
    with pytest.raises(StytchError) as caught:
        b2b.organizations.update(organization_id=org.organization_id, **settings)
    assert caught.value.details.status_code == 400
    assert error_type(caught) == expected
    after = b2b.organizations.get(organization_id=org.organization_id).organization
    assert after.model_dump() == before.model_dump()


def login_or_signup(b2b: Any, org: Any, email: str) -> Any:
    return b2b.magic_links.email.login_or_signup(organization_id=org.organization_id, email_address=email)


class TestEmailAllowedDomains:
    def test_domains_are_stored_lower_cased(self, b2b, inbox):
        org = make_org(b2b, inbox)
        resp = b2b.organizations.update(organization_id=org.organization_id, email_allowed_domains=["Acme.TEST"])
        assert resp.organization.email_allowed_domains == ["acme.test"]

    def test_invalid_domain_is_refused(self, b2b, inbox):
        refused_update(
            b2b, make_org(b2b, inbox), "organization_settings_invalid_domain", email_allowed_domains=["not a domain"]
        )

    def test_common_domain_is_refused(self, b2b, inbox):
        refused_update(
            b2b, make_org(b2b, inbox), "organization_settings_domain_too_common", email_allowed_domains=["gmail.com"]
        )

    def test_duplicate_domain_is_refused(self, b2b, inbox):
        refused_update(
            b2b,
            make_org(b2b, inbox),
            "organization_settings_duplicate_domain",
            email_allowed_domains=["acme.test", "ACME.test"],
        )


class TestEmailJitProvisioning:
    def test_restricted_provisions_an_allowed_domain(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("bob", "acme.test")
        assert login_or_signup(b2b, org, email).member_created is True
        assert inbox.messages(email)

    def test_restricted_refuses_another_domain_and_sends_nothing(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        email = new_email("eve", "other.test")
        with pytest.raises(StytchError) as caught:
            login_or_signup(b2b, org, email)
        assert error_type(caught) == "email_jit_provisioning_not_allowed"
        assert inbox.messages(email) == []

    def test_not_allowed_refuses_every_new_email(self, b2b, inbox):
        org = make_org(b2b, inbox, email_allowed_domains=["acme.test"], email_jit_provisioning="NOT_ALLOWED")
        with pytest.raises(StytchError) as caught:
            login_or_signup(b2b, org, new_email("bob", "acme.test"))
        assert error_type(caught) == "email_jit_provisioning_not_allowed"

    def test_discovery_joins_an_allowed_domain(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        ist = discover(b2b, inbox, new_email("bob", "acme.test")).intermediate_session_token
        resp = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=org.organization_id
        )
        assert resp.member_authenticated is True

    def test_discovery_refuses_another_domain(self, b2b, inbox):
        org = jit_org(b2b, inbox)
        ist = discover(b2b, inbox, new_email("eve", "other.test")).intermediate_session_token
        with pytest.raises(StytchError) as caught:
            b2b.discovery.intermediate_sessions.exchange(
                intermediate_session_token=ist, organization_id=org.organization_id
            )
        assert error_type(caught) == "email_jit_provisioning_not_allowed"

    def test_restricted_without_allowed_domains_is_refused(self, b2b, inbox):
        refused_update(
            b2b, make_org(b2b, inbox), "invalid_restricted_email_setting", email_jit_provisioning="RESTRICTED"
        )

    def test_unknown_value_is_refused(self, b2b, inbox):
        refused_update(
            b2b, make_org(b2b, inbox), "invalid_organization_auth_factor_setting", email_jit_provisioning="ALL_ALLOWED"
        )


class TestEmailInvites:
    def test_all_allowed_invites_any_domain(self, b2b, inbox):
        org = make_org(b2b, inbox, email_invites="ALL_ALLOWED")
        email = new_email("bob", "anywhere.test")
        assert (
            b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email).member.status
            == "invited"
        )

    def test_restricted_invites_an_allowed_domain(self, b2b, inbox):
        org = make_org(b2b, inbox, email_allowed_domains=["acme.test"], email_invites="RESTRICTED")
        email = new_email("bob", "acme.test")
        b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        assert inbox.messages(email)

    def test_restricted_refuses_another_domain_and_writes_nothing(self, b2b, inbox):
        org = make_org(b2b, inbox, email_allowed_domains=["acme.test"], email_invites="RESTRICTED")
        email = new_email("eve", "other.test")
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email)
        assert error_type(caught) == "invalid_email_for_invites"
        assert inbox.messages(email) == []
        with pytest.raises(StytchError):
            b2b.organizations.members.get(organization_id=org.organization_id, email_address=email)

    def test_not_allowed_refuses_every_invite(self, b2b, inbox):
        org = make_org(
            b2b,
            inbox,
            email_allowed_domains=["acme.test"],
            email_jit_provisioning="RESTRICTED",
            email_invites="NOT_ALLOWED",
        )
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.email.invite(
                organization_id=org.organization_id, email_address=new_email(domain="acme.test")
            )
        assert error_type(caught) == "invalid_email_for_invites"

    def test_restricted_without_allowed_domains_is_refused(self, b2b, inbox):
        refused_update(b2b, make_org(b2b, inbox), "invalid_restricted_email_setting", email_invites="RESTRICTED")

    def test_unknown_value_is_refused(self, b2b, inbox):
        refused_update(b2b, make_org(b2b, inbox), "invalid_organization_auth_factor_setting", email_invites="SOMETIMES")


class TestAuthMethods:
    def test_restricted_to_magic_link_lets_magic_links_through(self, b2b, inbox):
        founder = new_email()
        ist = discover(b2b, inbox, founder).intermediate_session_token
        org = b2b.discovery.organizations.create(
            intermediate_session_token=ist,
            organization_name="Acme",
            auth_methods="RESTRICTED",
            allowed_auth_methods=["magic_link", "sso"],
        ).organization
        login_or_signup(b2b, org, founder)
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(founder))
        assert resp.member_authenticated is True

    def test_restricted_to_other_methods_refuses_login_links_and_sends_nothing(self, b2b, inbox):
        founder = new_email()
        ist = discover(b2b, inbox, founder).intermediate_session_token
        org = b2b.discovery.organizations.create(
            intermediate_session_token=ist,
            organization_name="Acme",
            auth_methods="RESTRICTED",
            allowed_auth_methods=["sso"],
        ).organization
        sent = len(inbox.messages(founder))
        with pytest.raises(StytchError) as caught:
            login_or_signup(b2b, org, founder)
        assert caught.value.details.status_code == 403
        assert error_type(caught) == "operation_restricted_by_organization_auth_methods"
        assert len(inbox.messages(founder)) == sent

    def test_a_breakglass_member_may_still_use_a_magic_link(self, b2b, inbox):
        org = make_org(b2b, inbox, auth_methods="RESTRICTED", allowed_auth_methods=["sso"])
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email, is_breakglass=True)
        login_or_signup(b2b, org, email)
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert resp.member_authenticated is True

    def test_a_link_sent_before_the_restriction_returns_primary_required(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email()
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        login_or_signup(b2b, org, email)
        b2b.organizations.update(
            organization_id=org.organization_id, auth_methods="RESTRICTED", allowed_auth_methods=["sso"]
        )
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert resp.member_authenticated is False
        assert resp.session_token == "" and resp.member_session is None
        assert resp.primary_required.allowed_auth_methods == ["sso"]
        assert resp.intermediate_session_token
        listed = b2b.discovery.organizations.list(intermediate_session_token=resp.intermediate_session_token)
        assert listed.email_address == email

    def test_discovery_shows_primary_required(self, b2b, inbox):
        founder = new_email()
        ist = discover(b2b, inbox, founder).intermediate_session_token
        b2b.discovery.organizations.create(
            intermediate_session_token=ist,
            organization_name="Acme",
            auth_methods="RESTRICTED",
            allowed_auth_methods=["sso"],
        )
        found = discover(b2b, inbox, founder).discovered_organizations
        assert [d.primary_required.allowed_auth_methods for d in found] == [["sso"]]
        assert found[0].member_authenticated is False

    def test_discovery_shows_nothing_required_where_magic_links_are_allowed(self, b2b, inbox):
        founder = new_email()
        ist = discover(b2b, inbox, founder).intermediate_session_token
        b2b.discovery.organizations.create(
            intermediate_session_token=ist,
            organization_name="Acme",
            auth_methods="RESTRICTED",
            allowed_auth_methods=["magic_link"],
        )
        assert [d.primary_required for d in discover(b2b, inbox, founder).discovered_organizations] == [None]

    def test_restricted_without_allowed_methods_is_refused(self, b2b, inbox):
        refused_update(
            b2b, make_org(b2b, inbox), "allowed_auth_methods_required_for_restricted", auth_methods="RESTRICTED"
        )

    def test_unknown_method_is_refused(self, b2b, inbox):
        refused_update(
            b2b,
            make_org(b2b, inbox),
            "invalid_organization_allowed_auth_methods",
            auth_methods="RESTRICTED",
            allowed_auth_methods=["carrier_pigeon"],
        )


class TestMfaMethods:
    def test_restricted_with_methods_is_stored(self, b2b, inbox):
        org = make_org(b2b, inbox)
        resp = b2b.organizations.update(
            organization_id=org.organization_id, mfa_methods="RESTRICTED", allowed_mfa_methods=["totp"]
        )
        assert resp.organization.allowed_mfa_methods == ["totp"]

    def test_restricted_without_methods_is_refused(self, b2b, inbox):
        refused_update(
            b2b, make_org(b2b, inbox), "allowed_mfa_methods_required_for_restricted", mfa_methods="RESTRICTED"
        )

    def test_unknown_method_is_refused(self, b2b, inbox):
        refused_update(
            b2b,
            make_org(b2b, inbox),
            "invalid_organization_allowed_mfa_methods",
            allowed_mfa_methods=["carrier_pigeon"],
        )


class TestSomeoneMustBeAbleToJoin:
    def test_turning_every_provisioning_setting_off_is_refused(self, b2b, inbox):
        org = make_org(b2b, inbox, email_invites="ALL_ALLOWED")
        refused_update(
            b2b,
            org,
            "invalid_organization_auth_factor_setting",
            sso_jit_provisioning="NOT_ALLOWED",
            email_invites="NOT_ALLOWED",
        )

    def test_one_open_setting_is_enough(self, b2b, inbox):
        org = make_org(b2b, inbox)
        resp = b2b.organizations.update(
            organization_id=org.organization_id, sso_jit_provisioning="NOT_ALLOWED", email_invites="ALL_ALLOWED"
        )
        assert resp.organization.sso_jit_provisioning == "NOT_ALLOWED"

    def test_create_with_only_sso_closed_is_refused_as_invites_default_to_closed(self, b2b):
        with pytest.raises(StytchError) as caught:
            b2b.organizations.create(organization_name="Closed", sso_jit_provisioning="NOT_ALLOWED")
        assert error_type(caught) == "invalid_organization_auth_factor_setting"
        found = b2b.organizations.search(
            query={
                "operator": "AND",
                "operands": [{"filter_name": "organization_name_fuzzy", "filter_value": "Closed"}],
            }
        )
        assert found.organizations == []


class TestClaimedEmailDomains:
    def claim(self, b2b: Any, org: Any, *domains: str) -> Any:
        return b2b.organizations.update(organization_id=org.organization_id, claimed_email_domains=list(domains))

    def test_claims_are_stored_lower_cased(self, b2b, inbox):
        org = make_org(b2b, inbox)
        assert self.claim(b2b, org, "Acme.TEST").organization.claimed_email_domains == ["acme.test"]

    def test_invalid_domain_is_refused(self, b2b, inbox):
        refused_update(
            b2b, make_org(b2b, inbox), "organization_settings_invalid_claimed_domain", claimed_email_domains=["acme"]
        )

    def test_common_domain_is_refused(self, b2b, inbox):
        refused_update(
            b2b,
            make_org(b2b, inbox),
            "organization_settings_claimed_domain_too_common",
            claimed_email_domains=["gmail.com"],
        )

    def test_duplicate_domain_is_refused(self, b2b, inbox):
        refused_update(
            b2b,
            make_org(b2b, inbox),
            "organization_settings_duplicate_claimed_domain",
            claimed_email_domains=["acme.test", "acme.test"],
        )

    def test_users_of_a_claimed_domain_cannot_create_organizations(self, b2b, inbox):
        self.claim(b2b, make_org(b2b, inbox), "acme.test")
        ist = discover(b2b, inbox, new_email("bob", "acme.test")).intermediate_session_token
        with pytest.raises(StytchError) as caught:
            b2b.discovery.organizations.create(intermediate_session_token=ist, organization_name="Shadow IT")
        assert caught.value.details.status_code == 400
        assert error_type(caught) == "action_not_allowed_email_domain_is_claimed"
        assert b2b.discovery.organizations.list(intermediate_session_token=ist).discovered_organizations == []

    def test_users_of_other_domains_still_can(self, b2b, inbox):
        self.claim(b2b, make_org(b2b, inbox), "acme.test")
        ist = discover(b2b, inbox, new_email("eve", "other.test")).intermediate_session_token
        resp = b2b.discovery.organizations.create(intermediate_session_token=ist, organization_name="Other")
        assert resp.member_authenticated is True

    def test_joining_a_non_claiming_organization_is_refused(self, b2b, inbox):
        elsewhere = jit_org(b2b, inbox)  # created before the claim, by an acme.test founder
        self.claim(b2b, make_org(b2b, inbox, founder_domain="owner.test"), "acme.test")
        ist = discover(b2b, inbox, new_email("bob", "acme.test")).intermediate_session_token
        with pytest.raises(StytchError) as caught:
            b2b.discovery.intermediate_sessions.exchange(
                intermediate_session_token=ist, organization_id=elsewhere.organization_id
            )
        assert error_type(caught) == "action_not_allowed_email_domain_is_claimed"

    def test_joining_the_claiming_organization_is_allowed(self, b2b, inbox):
        owner = jit_org(b2b, inbox)
        self.claim(b2b, owner, "acme.test")
        ist = discover(b2b, inbox, new_email("bob", "acme.test")).intermediate_session_token
        resp = b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=ist, organization_id=owner.organization_id
        )
        assert resp.member_authenticated is True

    def test_discovery_offers_only_the_claiming_organizations(self, b2b, inbox):
        jit_org(b2b, inbox)  # would be offered by domain, but does not claim it
        owner = jit_org(b2b, inbox)
        self.claim(b2b, owner, "acme.test")
        found = discover(b2b, inbox, new_email("bob", "acme.test")).discovered_organizations
        assert [(d.organization.organization_id, d.membership.type) for d in found] == [
            (owner.organization_id, "eligible_to_join_by_email_domain")
        ]

    def test_login_or_signup_into_a_non_claiming_organization_is_refused(self, b2b, inbox):
        elsewhere = jit_org(b2b, inbox)
        self.claim(b2b, make_org(b2b, inbox), "acme.test")
        email = new_email("bob", "acme.test")
        with pytest.raises(StytchError) as caught:
            login_or_signup(b2b, elsewhere, email)
        assert error_type(caught) == "action_not_allowed_email_domain_is_claimed"
        assert inbox.messages(email) == []

    def test_invites_into_other_organizations_still_work(self, b2b, inbox):
        self.claim(b2b, make_org(b2b, inbox), "acme.test")
        elsewhere = make_org(b2b, inbox, founder_domain="other.test", email_invites="ALL_ALLOWED")
        email = new_email("bob", "acme.test")
        b2b.magic_links.email.invite(organization_id=elsewhere.organization_id, email_address=email)
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert resp.member_authenticated is True

    def test_existing_members_elsewhere_still_log_in(self, b2b, inbox):
        email = new_email("bob", "acme.test")
        elsewhere = make_org(b2b, inbox, founder_domain="other.test")
        b2b.organizations.members.create(organization_id=elsewhere.organization_id, email_address=email)
        self.claim(b2b, make_org(b2b, inbox), "acme.test")
        login_or_signup(b2b, elsewhere, email)
        assert b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email)).member_authenticated is True


class TestDomainEligibleDiscovery:
    """Anti-phishing (reference §6): an organization is offered to a domain's users only once a
    Member with a verified email on that domain vouches for it."""

    def test_not_offered_without_a_verified_member_on_the_domain(self, b2b, inbox):
        jit_org(b2b, inbox, founder_domain="founder.test")
        found = discover(b2b, inbox, new_email("bob", "acme.test")).discovered_organizations
        assert found == []

    def test_offered_once_a_verified_member_of_the_domain_exists(self, b2b, inbox):
        org = jit_org(b2b, inbox, founder_domain="founder.test")
        first = new_email("ann", "acme.test")
        login_or_signup(b2b, org, first)
        b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(first))
        found = discover(b2b, inbox, new_email("bob", "acme.test")).discovered_organizations
        assert [(d.organization.organization_id, d.membership.type) for d in found] == [
            (org.organization_id, "eligible_to_join_by_email_domain")
        ]
