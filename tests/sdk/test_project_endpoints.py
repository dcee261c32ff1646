"""debug.whoami, project.metrics and the consumer rbac.policy through the official Python SDK."""

from __future__ import annotations

from typing import Any

import stytch

from tests.flows import discovery_signup, error_of, new_email, set_policy
from tests.support import make_project


def counts(resp: Any) -> dict[str, int]:
    return {m.metric_type.value: m.count for m in resp.metrics}


class TestWhoami:
    def test_names_the_project_of_the_credentials(self, consumer, project):
        resp = consumer.debug.whoami()

        assert resp.project_id == project.project_id
        assert resp.name.startswith("test-")

    def test_each_project_sees_itself(self, consumer, server):
        other = make_project(server)
        other_client = stytch.Client(other.project_id, other.secret, environment=server.base_url)

        assert other_client.debug.whoami().project_id == other.project_id
        assert consumer.debug.whoami().project_id != other.project_id

    def test_wrong_credentials_are_refused(self, project):
        wrong = stytch.Client(project.project_id, "secret-test-wrong-wrong-wrong", environment=project.server.base_url)

        assert error_of(wrong.debug.whoami).error_type == "unauthorized_credentials"


class TestProjectMetrics:
    def test_a_new_project_counts_nothing(self, consumer, project):
        resp = consumer.project.metrics()

        assert resp.project_id == project.project_id
        assert counts(resp) == {"USER_COUNT": 0, "ORGANIZATION_COUNT": 0, "MEMBER_COUNT": 0}

    def test_counts_users_organizations_and_members(self, consumer, b2b, inbox):
        consumer.users.create(email=new_email())
        consumer.users.create(email=new_email())
        created = discovery_signup(b2b, inbox, new_email())
        b2b.organizations.members.create(
            organization_id=created.organization.organization_id, email_address=new_email()
        )
        discovery_signup(b2b, inbox, new_email())

        assert counts(consumer.project.metrics()) == {"USER_COUNT": 2, "ORGANIZATION_COUNT": 2, "MEMBER_COUNT": 3}

    def test_deleted_users_and_members_are_not_counted(self, consumer, b2b, inbox):
        user = consumer.users.create(email=new_email())
        created = discovery_signup(b2b, inbox, new_email())
        extra = b2b.organizations.members.create(
            organization_id=created.organization.organization_id, email_address=new_email()
        )
        consumer.users.delete(user_id=user.user_id)
        b2b.organizations.members.delete(
            organization_id=created.organization.organization_id, member_id=extra.member.member_id
        )

        assert counts(consumer.project.metrics()) == {"USER_COUNT": 0, "ORGANIZATION_COUNT": 1, "MEMBER_COUNT": 1}

    def test_another_projects_objects_are_not_counted(self, consumer, server):
        other = make_project(server)
        other_client = stytch.Client(other.project_id, other.secret, environment=server.base_url)
        other_client.users.create(email=new_email())

        assert counts(consumer.project.metrics())["USER_COUNT"] == 0
        assert counts(other_client.project.metrics())["USER_COUNT"] == 1

    def test_wrong_credentials_are_refused(self, project):
        wrong = stytch.Client(project.project_id, "secret-test-wrong-wrong-wrong", environment=project.server.base_url)

        assert error_of(wrong.project.metrics).error_type == "unauthorized_credentials"


POLICY: dict[str, Any] = {
    "resources": [{"resource_id": "documents", "description": "Shared documents", "actions": ["read", "write"]}],
    "roles": [
        {
            "role_id": "editor",
            "description": "Edits documents and invites members",
            "permissions": [
                {"resource_id": "documents", "actions": ["read", "write"]},
                {"resource_id": "stytch.member", "actions": ["create"]},
            ],
        },
        {
            "role_id": "stytch_user",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["read"]}],
        },
        {"role_id": "stytch_admin", "description": "", "permissions": [{"resource_id": "documents", "actions": ["*"]}]},
    ],
    "scopes": [
        {
            "scope": "read:documents",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["read"]}],
        }
    ],
}


class TestConsumerRBACPolicy:
    def test_without_a_declaration_only_stytch_user_exists(self, consumer):
        policy = consumer.rbac.policy().policy

        assert [(r.role_id, r.permissions) for r in policy.roles] == [("stytch_user", [])]
        assert policy.resources == []
        assert policy.scopes == []

    def test_holds_the_projects_resources_roles_and_scopes(self, consumer, project):
        set_policy(project, POLICY)

        policy = consumer.rbac.policy().policy

        assert [r.resource_id for r in policy.resources] == ["documents"]
        assert [r.role_id for r in policy.roles] == ["stytch_user", "editor"]
        assert [s.scope for s in policy.scopes] == ["read:documents"]

    def test_stytch_user_has_what_the_project_declares_for_it(self, consumer, project):
        set_policy(project, POLICY)

        user_role = consumer.rbac.policy().policy.roles[0]

        assert user_role.role_id == "stytch_user"
        assert [(p.resource_id, p.actions) for p in user_role.permissions] == [("documents", ["read"])]

    def test_leaves_out_the_b2b_resources_and_roles(self, consumer, project):
        set_policy(project, POLICY)

        policy = consumer.rbac.policy().policy
        editor = next(r for r in policy.roles if r.role_id == "editor")

        assert not [r for r in policy.resources if r.resource_id.startswith("stytch.")]
        assert not {"stytch_member", "stytch_admin"} & {r.role_id for r in policy.roles}
        assert [p.resource_id for p in editor.permissions] == ["documents"]

    def test_the_b2b_policy_leaves_out_stytch_user(self, b2b, project):
        set_policy(project, POLICY)

        assert "stytch_user" not in [r.role_id for r in b2b.rbac.policy().policy.roles]

    def test_another_projects_policy_is_not_seen(self, consumer, server):
        other = make_project(server)
        set_policy(other, POLICY)

        assert consumer.rbac.policy().policy.resources == []

    def test_wrong_credentials_are_refused(self, project):
        wrong = stytch.Client(project.project_id, "secret-test-wrong-wrong-wrong", environment=project.server.base_url)

        assert error_of(wrong.rbac.policy).error_type == "unauthorized_credentials"
