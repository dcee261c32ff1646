"""RBAC through the official SDK: the policy, organizations' custom roles, Members' roles and
their sources, roles in sessions and JWTs, and authorization checks (server and local)."""

from __future__ import annotations

import pytest
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError
from stytch.shared.rbac_local import RBACPermissionError, TenancyError

from tests.flows import DOCUMENTS_POLICY, add_member, discovery_signup, new_email, set_policy


@pytest.fixture
def admin(b2b, inbox, project):
    set_policy(project, DOCUMENTS_POLICY)
    return discovery_signup(b2b, inbox, new_email())


def check(org_id: str, resource_id: str, action: str) -> AuthorizationCheck:
    return AuthorizationCheck(organization_id=org_id, resource_id=resource_id, action=action)


class TestPolicy:
    def test_default_policy_has_stytch_roles_and_resources(self, b2b):
        policy = b2b.rbac.policy().policy
        roles = {r.role_id: r for r in policy.roles}
        assert set(roles) == {"stytch_admin", "stytch_member"}
        assert {r.resource_id for r in policy.resources} >= {
            "stytch.organization",
            "stytch.member",
            "stytch.sso",
            "stytch.scim",
            "stytch.self",
        }
        assert {(p.resource_id, tuple(p.actions)) for p in roles["stytch_member"].permissions} == {
            ("stytch.self", ("*",))
        }
        assert policy.scopes == []

    def test_declared_resources_roles_and_scopes_are_returned(self, b2b, project):
        set_policy(project, DOCUMENTS_POLICY)
        policy = b2b.rbac.policy().policy
        editor = next(r for r in policy.roles if r.role_id == "editor")
        assert editor.permissions[0].resource_id == "documents"
        assert editor.permissions[0].actions == ["read", "write"]
        assert "documents" in {r.resource_id for r in policy.resources}
        assert [s.scope for s in policy.scopes] == ["read:documents"]

    def test_declared_permissions_add_to_stytch_admin(self, b2b, project):
        set_policy(project, DOCUMENTS_POLICY)
        admin_role = next(r for r in b2b.rbac.policy().policy.roles if r.role_id == "stytch_admin")
        granted = {p.resource_id: p.actions for p in admin_role.permissions}
        assert granted["documents"] == ["*"]
        assert granted["stytch.organization"] == ["*"]

    def test_another_projects_policy_is_not_seen(self, b2b, other_project):
        set_policy(other_project, DOCUMENTS_POLICY)
        assert "editor" not in {r.role_id for r in b2b.rbac.policy().policy.roles}


class TestOrgPolicy:
    def test_new_organization_has_no_custom_roles(self, b2b, admin):
        org_id = admin.organization.organization_id
        assert b2b.rbac.organizations.get_org_policy(organization_id=org_id).org_policy.roles == []

    def test_set_org_policy_shows_as_custom_roles(self, b2b, admin):
        org_id = admin.organization.organization_id
        role = {
            "role_id": "auditor",
            "description": "Reads invoices",
            "permissions": [{"resource_id": "invoices", "actions": ["read"]}],
        }
        resp = b2b.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [role]})
        assert [r.role_id for r in resp.org_policy.roles] == ["auditor"]
        organization = b2b.organizations.get(organization_id=org_id).organization
        assert [r.role_id for r in organization.custom_roles] == ["auditor"]
        assert b2b.rbac.organizations.get_org_policy(organization_id=org_id).org_policy.roles[0].role_id == "auditor"

    def test_custom_role_naming_an_unknown_resource_is_refused(self, b2b, admin):
        role = {
            "role_id": "x",
            "description": "",
            "permissions": [{"resource_id": "ghosts", "actions": ["read"]}],
        }
        with pytest.raises(StytchError) as err:
            b2b.rbac.organizations.set_org_policy(
                organization_id=admin.organization.organization_id,
                org_policy={"roles": [role]},
            )
        assert err.value.details.error_type == "invalid_permission_resource"

    def test_custom_role_reusing_a_project_role_id_is_refused(self, b2b, admin):
        role = {
            "role_id": "editor",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["read"]}],
        }
        with pytest.raises(StytchError) as err:
            b2b.rbac.organizations.set_org_policy(
                organization_id=admin.organization.organization_id,
                org_policy={"roles": [role]},
            )
        assert err.value.details.error_type == "rbac_role_duplicate"

    def test_unknown_organization_is_not_found(self, b2b):
        with pytest.raises(StytchError) as err:
            b2b.rbac.organizations.get_org_policy(organization_id="organization-test-nope")
        assert err.value.details.error_type == "organization_not_found"


class TestMemberRoles:
    def test_direct_role_has_direct_assignment_source(self, b2b, admin):
        org_id = admin.organization.organization_id
        member = b2b.organizations.members.create(
            organization_id=org_id, email_address=new_email(), roles=["editor"]
        ).member
        editor = next(r for r in member.roles if r.role_id == "editor")
        assert [s.type for s in editor.sources] == ["direct_assignment"]

    def test_email_domain_grants_a_role_with_email_assignment_source(self, b2b, admin):
        org_id = admin.organization.organization_id
        b2b.organizations.update(
            organization_id=org_id,
            rbac_email_implicit_role_assignments=[{"domain": "editors.test", "role_id": "editor"}],
        )
        member = b2b.organizations.members.create(
            organization_id=org_id, email_address=new_email(domain="editors.test")
        ).member
        editor = next(r for r in member.roles if r.role_id == "editor")
        assert [(s.type, s.details) for s in editor.sources] == [("email_assignment", {"email_domain": "editors.test"})]

    def test_role_held_directly_and_by_email_lists_both_sources(self, b2b, admin):
        org_id = admin.organization.organization_id
        b2b.organizations.update(
            organization_id=org_id,
            rbac_email_implicit_role_assignments=[{"domain": "editors.test", "role_id": "editor"}],
        )
        member = b2b.organizations.members.create(
            organization_id=org_id,
            email_address=new_email(domain="editors.test"),
            roles=["editor"],
        ).member
        editor = next(r for r in member.roles if r.role_id == "editor")
        assert [s.type for s in editor.sources] == [
            "direct_assignment",
            "email_assignment",
        ]

    def test_other_domains_do_not_get_the_email_role(self, b2b, admin):
        org_id = admin.organization.organization_id
        b2b.organizations.update(
            organization_id=org_id,
            rbac_email_implicit_role_assignments=[{"domain": "editors.test", "role_id": "editor"}],
        )
        member = b2b.organizations.members.create(organization_id=org_id, email_address=new_email()).member
        assert [r.role_id for r in member.roles] == ["stytch_member"]

    def test_unknown_role_is_refused_and_no_member_is_created(self, b2b, admin):
        org_id = admin.organization.organization_id
        email = new_email()
        with pytest.raises(StytchError) as err:
            b2b.organizations.members.create(organization_id=org_id, email_address=email, roles=["wizard"])
        assert err.value.details.error_type == "invalid_rbac_role_id"
        with pytest.raises(StytchError):
            b2b.organizations.members.get(organization_id=org_id, email_address=email)

    def test_organizations_custom_role_can_be_assigned(self, b2b, admin):
        org_id = admin.organization.organization_id
        role = {
            "role_id": "auditor",
            "description": "",
            "permissions": [{"resource_id": "invoices", "actions": ["read"]}],
        }
        b2b.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [role]})
        member = b2b.organizations.members.update(
            organization_id=org_id,
            member_id=admin.member_id,
            roles=["stytch_admin", "auditor"],
        ).member
        assert "auditor" in [r.role_id for r in member.roles]

    def test_implicit_assignment_of_an_unknown_role_is_refused(self, b2b, admin):
        org_id = admin.organization.organization_id
        with pytest.raises(StytchError) as err:
            b2b.organizations.update(
                organization_id=org_id,
                rbac_email_implicit_role_assignments=[{"domain": "acme.test", "role_id": "wizard"}],
            )
        assert err.value.details.error_type == "invalid_rbac_role_id"
        assert b2b.organizations.get(organization_id=org_id).organization.rbac_email_implicit_role_assignments == []

    def test_roles_are_in_the_session_and_its_jwt(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        bob = add_member(b2b, inbox, org_id, roles=["editor"])
        resp = b2b.sessions.authenticate(session_token=bob.session_token)
        assert set(resp.member_session.roles) == {"stytch_member", "editor"}
        local = b2b.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt)
        assert set(local.roles) == {"stytch_member", "editor"}

    def test_email_granted_role_is_in_the_jwt(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        b2b.organizations.update(
            organization_id=org_id,
            rbac_email_implicit_role_assignments=[{"domain": "editors.test", "role_id": "editor"}],
        )
        bob = add_member(b2b, inbox, org_id, domain="editors.test")
        resp = b2b.sessions.authenticate(session_token=bob.session_token)
        assert "editor" in b2b.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt).roles

    def test_email_granted_role_is_in_the_first_jwt_of_a_login(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        b2b.organizations.update(
            organization_id=org_id,
            rbac_email_implicit_role_assignments=[{"domain": "editors.test", "role_id": "editor"}],
        )
        bob = add_member(b2b, inbox, org_id, domain="editors.test")
        assert "editor" in bob.member_session.roles
        assert "editor" in [r.role_id for r in bob.member.roles]
        local = b2b.sessions.authenticate_jwt_local(session_jwt=bob.session_jwt)
        assert "editor" in local.roles


class TestAuthorizationCheck:
    def test_permitted_member_gets_a_verdict_with_the_granting_roles(self, b2b, admin):
        org_id = admin.organization.organization_id
        resp = b2b.sessions.authenticate(
            session_token=admin.session_token,
            authorization_check=check(org_id, "documents", "delete"),
        )
        assert resp.verdict.authorized is True
        assert resp.verdict.granting_roles == ["stytch_admin"]

    def test_missing_permission_is_403_session_authorization_error(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        bob = add_member(b2b, inbox, org_id, roles=["editor"])
        with pytest.raises(StytchError) as err:
            b2b.sessions.authenticate(
                session_token=bob.session_token,
                authorization_check=check(org_id, "documents", "delete"),
            )
        assert err.value.details.status_code == 403
        assert err.value.details.error_type == "session_authorization_error"

    def test_role_permission_allows_its_actions(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        bob = add_member(b2b, inbox, org_id, roles=["editor"])
        resp = b2b.sessions.authenticate(
            session_token=bob.session_token,
            authorization_check=check(org_id, "documents", "write"),
        )
        assert resp.verdict.granting_roles == ["editor"]

    def test_another_organization_is_a_tenancy_error(self, b2b, inbox, admin):
        other = discovery_signup(b2b, inbox, new_email())
        with pytest.raises(StytchError) as err:
            b2b.sessions.authenticate(
                session_token=admin.session_token,
                authorization_check=check(other.organization.organization_id, "documents", "read"),
            )
        assert err.value.details.status_code == 403
        assert err.value.details.error_type == "session_authorization_tenancy_error"

    def test_organizations_custom_role_grants_its_permissions(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        role = {
            "role_id": "auditor",
            "description": "",
            "permissions": [{"resource_id": "invoices", "actions": ["read"]}],
        }
        b2b.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [role]})
        bob = add_member(b2b, inbox, org_id, roles=["auditor"])
        resp = b2b.sessions.authenticate(
            session_token=bob.session_token,
            authorization_check=check(org_id, "invoices", "read"),
        )
        assert resp.verdict.granting_roles == ["auditor"]

    def test_email_granted_role_grants_its_permissions(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        b2b.organizations.update(
            organization_id=org_id,
            rbac_email_implicit_role_assignments=[{"domain": "editors.test", "role_id": "editor"}],
        )
        bob = add_member(b2b, inbox, org_id, domain="editors.test")
        resp = b2b.sessions.authenticate(
            session_token=bob.session_token,
            authorization_check=check(org_id, "documents", "read"),
        )
        assert resp.verdict.granting_roles == ["editor"]

    def test_without_a_check_there_is_no_verdict(self, b2b, admin):
        assert b2b.sessions.authenticate(session_token=admin.session_token).verdict is None


class TestLocalAuthorization:
    """`sessions.authenticate_jwt` with an authorization check decides locally, from the
    policy the SDK fetched from keystile, and agrees with the server."""

    def test_permitted_member_is_authorized_locally(self, b2b, admin):
        org_id = admin.organization.organization_id
        resp = b2b.sessions.authenticate_jwt(
            session_jwt=admin.session_jwt,
            authorization_check=check(org_id, "documents", "delete"),
        )
        assert resp.member_session.member_id == admin.member_id

    def test_missing_permission_raises_locally(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        bob = add_member(b2b, inbox, org_id, roles=["editor"])
        with pytest.raises(RBACPermissionError):
            b2b.sessions.authenticate_jwt(
                session_jwt=bob.session_jwt,
                authorization_check=check(org_id, "documents", "delete"),
            )

    def test_role_permission_allows_locally(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        bob = add_member(b2b, inbox, org_id, roles=["editor"])
        resp = b2b.sessions.authenticate_jwt(
            session_jwt=bob.session_jwt,
            authorization_check=check(org_id, "documents", "write"),
        )
        assert resp.member_session.member_id == bob.member_id

    def test_another_organization_raises_tenancy_error_locally(self, b2b, inbox, admin):
        other = discovery_signup(b2b, inbox, new_email())
        with pytest.raises(TenancyError):
            b2b.sessions.authenticate_jwt(
                session_jwt=admin.session_jwt,
                authorization_check=check(other.organization.organization_id, "documents", "read"),
            )

    def test_organizations_custom_role_allows_locally(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        role = {
            "role_id": "auditor",
            "description": "",
            "permissions": [{"resource_id": "invoices", "actions": ["read"]}],
        }
        b2b.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [role]})
        bob = add_member(b2b, inbox, org_id, roles=["auditor"])
        resp = b2b.sessions.authenticate_jwt(
            session_jwt=bob.session_jwt,
            authorization_check=check(org_id, "invoices", "read"),
        )
        assert resp.member_session.member_id == bob.member_id

    def test_organizations_custom_role_does_not_allow_other_actions_locally(self, b2b, inbox, admin):
        org_id = admin.organization.organization_id
        role = {
            "role_id": "auditor",
            "description": "",
            "permissions": [{"resource_id": "invoices", "actions": ["read"]}],
        }
        b2b.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [role]})
        bob = add_member(b2b, inbox, org_id, roles=["auditor"])
        with pytest.raises(RBACPermissionError):
            b2b.sessions.authenticate_jwt(
                session_jwt=bob.session_jwt,
                authorization_check=check(org_id, "invoices", "pay"),
            )
