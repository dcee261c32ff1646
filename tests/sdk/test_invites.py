"""Invites end to end through the official SDK: invite → email → authenticate → an active
Member holding `stytch_member` plus the roles the invite named; revoked by deleting the Member;
an active Member cannot be invited again (reference §6, PY `magic_links.email.invite`)."""

from __future__ import annotations

from typing import Any

import pytest
from stytch.core.response_base import StytchError

from tests.flows import DOCUMENTS_POLICY, discovery_signup, error_type, new_email, set_policy


@pytest.fixture
def org(b2b: Any, inbox: Any) -> Any:
    return discovery_signup(b2b, inbox, new_email()).organization


def invite(b2b: Any, org: Any, email: str, **fields: Any) -> Any:
    return b2b.magic_links.email.invite(organization_id=org.organization_id, email_address=email, **fields)


def role_ids(member: Any) -> list[str]:
    return sorted(role.role_id for role in member.roles)


class TestInviteToActiveMember:
    def test_the_invitee_becomes_active_and_verified(self, b2b, inbox, org):
        email = new_email("bob", "acme.test")
        invited = invite(b2b, org, email, name="Bob")
        assert invited.member.status == "invited"
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert resp.member_authenticated is True
        assert resp.member.member_id == invited.member_id
        assert resp.member.status == "active"
        assert resp.member.email_address_verified is True
        assert resp.member.name == "Bob"

    def test_without_roles_the_member_holds_stytch_member(self, b2b, inbox, org):
        email = new_email()
        invite(b2b, org, email)
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert role_ids(resp.member) == ["stytch_member"]
        assert resp.member_session.roles == ["stytch_member"]

    def test_the_roles_the_invite_named_are_held_with_stytch_member(self, b2b, inbox, org):
        email = new_email()
        invite(b2b, org, email, roles=["stytch_admin"])
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert role_ids(resp.member) == ["stytch_admin", "stytch_member"]
        assert sorted(resp.member_session.roles) == ["stytch_admin", "stytch_member"]
        assert resp.member.is_admin is True

    def test_custom_roles_of_the_project_policy_are_held(self, b2b, inbox, project, org):
        set_policy(project, DOCUMENTS_POLICY)
        role = DOCUMENTS_POLICY["roles"][0]["role_id"]
        email = new_email()
        invite(b2b, org, email, roles=[role])
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert role in role_ids(resp.member)
        assert "stytch_member" in role_ids(resp.member)

    def test_an_unknown_role_is_refused_and_nothing_is_sent(self, b2b, inbox, org):
        email = new_email()
        with pytest.raises(StytchError) as caught:
            invite(b2b, org, email, roles=["no_such_role"])
        assert error_type(caught) == "invalid_rbac_role_id"
        assert inbox.messages(email) == []

    def test_the_link_works_once(self, b2b, inbox, org):
        email = new_email()
        invite(b2b, org, email)
        token = inbox.latest_token(email)
        b2b.magic_links.authenticate(magic_links_token=token)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=token)
        assert error_type(caught) == "unable_to_auth_magic_link"

    def test_organization_and_inviter_by_external_ids(self, b2b, inbox):
        admin = discovery_signup(b2b, inbox, new_email(), organization_external_id="crm-acme-invites")
        b2b.organizations.members.update(
            organization_id=admin.organization.organization_id, member_id=admin.member.member_id, external_id="boss"
        )
        email = new_email()
        resp = b2b.magic_links.email.invite(
            organization_id="crm-acme-invites", email_address=email, invited_by_member_id="boss"
        )
        assert resp.organization.organization_id == admin.organization.organization_id
        assert inbox.latest(email)


class TestRevoke:
    def test_deleting_the_invited_member_revokes_the_link(self, b2b, inbox, org):
        email = new_email()
        invited = invite(b2b, org, email)
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=invited.member_id)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert error_type(caught) == "unable_to_auth_magic_link"
        with pytest.raises(StytchError):
            b2b.organizations.members.get(organization_id=org.organization_id, email_address=email)

    def test_a_revoked_invitee_can_be_invited_again(self, b2b, inbox, org):
        email = new_email()
        first = invite(b2b, org, email)
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=first.member_id)
        invite(b2b, org, email)
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        assert resp.member.status == "active"


class TestReinvite:
    def test_an_active_member_cannot_be_invited_and_nothing_is_sent(self, b2b, inbox, org):
        email = new_email()
        invite(b2b, org, email)
        b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))
        sent = len(inbox.messages(email))
        with pytest.raises(StytchError) as caught:
            invite(b2b, org, email)
        assert caught.value.details.status_code == 400
        assert error_type(caught) == "member_already_active"
        assert len(inbox.messages(email)) == sent

    def test_an_invited_member_may_be_invited_again_and_either_link_works(self, b2b, inbox, org):
        email = new_email()
        invite(b2b, org, email)
        first = inbox.latest_token(email)
        invite(b2b, org, email, roles=["stytch_admin"])
        resp = b2b.magic_links.authenticate(magic_links_token=first)
        assert resp.member.status == "active"
        assert "stytch_admin" in role_ids(resp.member)

    def test_the_invited_member_appears_in_discovery_as_invited(self, b2b, inbox, org):
        email = new_email()
        invite(b2b, org, email)
        b2b.magic_links.email.discovery.send(email_address=email)
        found = b2b.magic_links.discovery.authenticate(
            discovery_magic_links_token=inbox.latest_token(email)
        ).discovered_organizations
        assert [(d.organization.organization_id, d.membership.type) for d in found] == [
            (org.organization_id, "invited_member")
        ]
