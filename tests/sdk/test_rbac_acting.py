"""Methods that accept a Member session header (`method_options=…(authorization=…)` in the
SDK) run with that Member's permissions: allowed with the permission, 403 and nothing
written without it."""

from __future__ import annotations

import pytest
from stytch.b2b.models import (
    magic_links_email,
    organizations,
    organizations_members,
    sessions,
)
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from tests.flows import DOCUMENTS_POLICY, acting, add_member, discovery_signup, new_email, set_policy


def refused(err: pytest.ExceptionInfo[StytchError], error_type: str = "unauthorized_action") -> bool:
    return err.value.details.status_code in (400, 403) and err.value.details.error_type == error_type


@pytest.fixture
def admin(b2b, inbox, project):
    set_policy(project, DOCUMENTS_POLICY)
    return discovery_signup(b2b, inbox, new_email())


@pytest.fixture
def org_id(admin):
    return admin.organization.organization_id


@pytest.fixture
def bob(b2b, inbox, org_id):
    """A plain Member (stytch_member only) of the admin's organization, logged in."""
    return add_member(b2b, inbox, org_id)


class TestOrganizationUpdate:
    def test_admin_may_rename(self, b2b, admin, org_id):
        resp = b2b.organizations.update(
            organization_id=org_id,
            organization_name="Renamed",
            method_options=acting(organizations.UpdateRequestOptions, admin),
        )
        assert resp.organization.organization_name == "Renamed"

    def test_plain_member_may_not_rename_and_nothing_changes(self, b2b, bob, org_id):
        before = b2b.organizations.get(organization_id=org_id).organization.organization_name
        with pytest.raises(StytchError) as err:
            b2b.organizations.update(
                organization_id=org_id,
                organization_name="Hijacked",
                method_options=acting(organizations.UpdateRequestOptions, bob),
            )
        assert refused(err)
        assert err.value.details.status_code == 403
        assert b2b.organizations.get(organization_id=org_id).organization.organization_name == before

    def test_admin_header_by_jwt_works_too(self, b2b, admin, org_id):
        resp = b2b.organizations.update(
            organization_id=org_id,
            email_invites="ALL_ALLOWED",
            method_options=acting(organizations.UpdateRequestOptions, admin, jwt=True),
        )
        assert resp.organization.email_invites == "ALL_ALLOWED"

    def test_trusted_metadata_cannot_be_set_as_a_member(self, b2b, admin, org_id):
        with pytest.raises(StytchError) as err:
            b2b.organizations.update(
                organization_id=org_id,
                trusted_metadata={"plan": "pro"},
                method_options=acting(organizations.UpdateRequestOptions, admin),
            )
        assert refused(err, "cannot_update_trusted_metadata")
        assert b2b.organizations.get(organization_id=org_id).organization.trusted_metadata == {}

    def test_member_of_another_organization_is_a_tenancy_error(self, b2b, inbox, org_id):
        stranger = discovery_signup(b2b, inbox, new_email())
        with pytest.raises(StytchError) as err:
            b2b.organizations.update(
                organization_id=org_id,
                organization_name="Hijacked",
                method_options=acting(organizations.UpdateRequestOptions, stranger),
            )
        assert refused(err, "session_authorization_tenancy_error")

    def test_unknown_session_header_is_session_not_found(self, b2b, org_id):
        options = organizations.UpdateRequestOptions(authorization=Authorization(session_token="nope"))
        with pytest.raises(StytchError) as err:
            b2b.organizations.update(organization_id=org_id, organization_name="X", method_options=options)
        assert err.value.details.error_type == "session_not_found"

    def test_without_a_header_the_secret_alone_suffices(self, b2b, org_id):
        assert b2b.organizations.update(organization_id=org_id, organization_name="Plain").organization


class TestOrganizationDelete:
    def test_admin_may_delete(self, b2b, admin, org_id):
        b2b.organizations.delete(
            organization_id=org_id,
            method_options=acting(organizations.DeleteRequestOptions, admin),
        )
        with pytest.raises(StytchError):
            b2b.organizations.get(organization_id=org_id)

    def test_plain_member_may_not_delete(self, b2b, bob, org_id):
        with pytest.raises(StytchError) as err:
            b2b.organizations.delete(
                organization_id=org_id,
                method_options=acting(organizations.DeleteRequestOptions, bob),
            )
        assert refused(err)
        assert b2b.organizations.get(organization_id=org_id).organization.organization_id == org_id


class TestMemberCreate:
    def test_admin_may_create(self, b2b, admin, org_id):
        resp = b2b.organizations.members.create(
            organization_id=org_id,
            email_address=new_email(),
            method_options=acting(organizations_members.CreateRequestOptions, admin),
        )
        assert resp.member.status == "active"

    def test_plain_member_may_not_create_and_no_member_is_written(self, b2b, bob, org_id):
        email = new_email()
        with pytest.raises(StytchError) as err:
            b2b.organizations.members.create(
                organization_id=org_id,
                email_address=email,
                method_options=acting(organizations_members.CreateRequestOptions, bob),
            )
        assert refused(err)
        with pytest.raises(StytchError):
            b2b.organizations.members.get(organization_id=org_id, email_address=email)

    def test_create_permission_alone_may_not_assign_roles(self, b2b, inbox, org_id):
        inviter = add_member(b2b, inbox, org_id, roles=["inviter"])
        with pytest.raises(StytchError) as err:
            b2b.organizations.members.create(
                organization_id=org_id,
                email_address=new_email(),
                roles=["stytch_admin"],
                method_options=acting(organizations_members.CreateRequestOptions, inviter),
            )
        assert refused(err)

    def test_custom_role_with_create_may_create(self, b2b, inbox, org_id):
        inviter = add_member(b2b, inbox, org_id, roles=["inviter"])
        resp = b2b.organizations.members.create(
            organization_id=org_id,
            email_address=new_email(),
            method_options=acting(organizations_members.CreateRequestOptions, inviter),
        )
        assert [r.role_id for r in resp.member.roles] == ["stytch_member"]


class TestMemberUpdate:
    def test_member_may_rename_itself(self, b2b, bob, org_id):
        resp = b2b.organizations.members.update(
            organization_id=org_id,
            member_id=bob.member_id,
            name="Bob B.",
            method_options=acting(organizations_members.UpdateRequestOptions, bob),
        )
        assert resp.member.name == "Bob B."

    def test_member_may_not_rename_another(self, b2b, bob, admin, org_id):
        with pytest.raises(StytchError) as err:
            b2b.organizations.members.update(
                organization_id=org_id,
                member_id=admin.member_id,
                name="Renamed by Bob",
                method_options=acting(organizations_members.UpdateRequestOptions, bob),
            )
        assert refused(err)
        assert b2b.organizations.members.get(organization_id=org_id, member_id=admin.member_id).member.name != (
            "Renamed by Bob"
        )

    def test_member_may_not_grant_itself_roles(self, b2b, bob, org_id):
        with pytest.raises(StytchError) as err:
            b2b.organizations.members.update(
                organization_id=org_id,
                member_id=bob.member_id,
                roles=["stytch_admin"],
                method_options=acting(organizations_members.UpdateRequestOptions, bob),
            )
        assert refused(err)
        member = b2b.organizations.members.get(organization_id=org_id, member_id=bob.member_id).member
        assert [r.role_id for r in member.roles] == ["stytch_member"]

    def test_admin_may_assign_roles(self, b2b, admin, bob, org_id):
        resp = b2b.organizations.members.update(
            organization_id=org_id,
            member_id=bob.member_id,
            roles=["editor"],
            method_options=acting(organizations_members.UpdateRequestOptions, admin),
        )
        assert "editor" in [r.role_id for r in resp.member.roles]


class TestMemberDelete:
    def test_admin_may_delete_a_member(self, b2b, admin, bob, org_id):
        b2b.organizations.members.delete(
            organization_id=org_id,
            member_id=bob.member_id,
            method_options=acting(organizations_members.DeleteRequestOptions, admin),
        )
        with pytest.raises(StytchError):
            b2b.organizations.members.get(organization_id=org_id, member_id=bob.member_id)

    def test_member_may_not_delete_another(self, b2b, admin, bob, org_id):
        with pytest.raises(StytchError) as err:
            b2b.organizations.members.delete(
                organization_id=org_id,
                member_id=admin.member_id,
                method_options=acting(organizations_members.DeleteRequestOptions, bob),
            )
        assert refused(err)
        assert b2b.organizations.members.get(organization_id=org_id, member_id=admin.member_id).member

    def test_member_may_delete_itself(self, b2b, bob, org_id):
        b2b.organizations.members.delete(
            organization_id=org_id,
            member_id=bob.member_id,
            method_options=acting(organizations_members.DeleteRequestOptions, bob),
        )
        with pytest.raises(StytchError):
            b2b.organizations.members.get(organization_id=org_id, member_id=bob.member_id)


class TestMemberSearch:
    def test_admin_may_search_its_organization(self, b2b, admin, org_id):
        resp = b2b.organizations.members.search(
            organization_ids=[org_id],
            method_options=acting(organizations_members.SearchRequestOptions, admin),
        )
        assert admin.member_id in [m.member_id for m in resp.members]

    def test_plain_member_may_not_search(self, b2b, bob, org_id):
        with pytest.raises(StytchError) as err:
            b2b.organizations.members.search(
                organization_ids=[org_id],
                method_options=acting(organizations_members.SearchRequestOptions, bob),
            )
        assert refused(err)

    def test_admin_may_not_search_another_organization(self, b2b, inbox, admin):
        other = discovery_signup(b2b, inbox, new_email())
        with pytest.raises(StytchError) as err:
            b2b.organizations.members.search(
                organization_ids=[other.organization.organization_id],
                method_options=acting(organizations_members.SearchRequestOptions, admin),
            )
        assert refused(err, "session_authorization_tenancy_error")


class TestInvite:
    def test_admin_may_invite(self, b2b, inbox, admin, org_id):
        email = new_email()
        resp = b2b.magic_links.email.invite(
            organization_id=org_id,
            email_address=email,
            method_options=acting(magic_links_email.InviteRequestOptions, admin),
        )
        assert resp.member.status == "invited"
        assert inbox.latest_token(email)

    def test_plain_member_may_not_invite_and_no_member_is_written(self, b2b, bob, org_id):
        email = new_email()
        with pytest.raises(StytchError) as err:
            b2b.magic_links.email.invite(
                organization_id=org_id,
                email_address=email,
                method_options=acting(magic_links_email.InviteRequestOptions, bob),
            )
        assert refused(err)
        with pytest.raises(StytchError):
            b2b.organizations.members.get(organization_id=org_id, email_address=email)

    def test_invite_with_an_unknown_role_is_refused(self, b2b, org_id):
        with pytest.raises(StytchError) as err:
            b2b.magic_links.email.invite(organization_id=org_id, email_address=new_email(), roles=["wizard"])
        assert refused(err, "invalid_rbac_role_id")


class TestSessionRevoke:
    def test_member_may_revoke_its_own_session(self, b2b, bob):
        b2b.sessions.revoke(
            session_token=bob.session_token,
            method_options=acting(sessions.RevokeRequestOptions, bob),
        )
        with pytest.raises(StytchError):
            b2b.sessions.authenticate(session_token=bob.session_token)

    def test_member_may_not_revoke_anothers_sessions(self, b2b, bob, admin):
        with pytest.raises(StytchError) as err:
            b2b.sessions.revoke(
                member_id=admin.member_id,
                method_options=acting(sessions.RevokeRequestOptions, bob),
            )
        assert refused(err)
        assert b2b.sessions.authenticate(session_token=admin.session_token).member_session

    def test_admin_may_revoke_a_members_sessions(self, b2b, bob, admin):
        b2b.sessions.revoke(
            member_id=bob.member_id,
            method_options=acting(sessions.RevokeRequestOptions, admin),
        )
        with pytest.raises(StytchError):
            b2b.sessions.authenticate(session_token=bob.session_token)

    def test_admin_may_not_revoke_sessions_in_another_organization(self, b2b, inbox, admin):
        other = discovery_signup(b2b, inbox, new_email())
        with pytest.raises(StytchError) as err:
            b2b.sessions.revoke(
                member_session_id=other.member_session.member_session_id,
                method_options=acting(sessions.RevokeRequestOptions, admin),
            )
        assert refused(err, "session_authorization_tenancy_error")
        assert b2b.sessions.authenticate(session_token=other.session_token).member_session
