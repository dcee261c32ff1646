"""SCIM connections through the official SDK (`b2b.scim.connection.*`): one per organization,
a bearer token shown once, rotation with overlap, the group → role mapping, and the SCIM
service refusing tokens that are not the connection's."""

from __future__ import annotations

import pytest
from stytch.core.response_base import StytchError

from tests.flows import DOCUMENTS_POLICY, error_type, new_org, set_policy
from tests.scim_client import ERROR, ScimClient, okta_user, scim_email


@pytest.fixture
def org(b2b):
    return new_org(b2b)


@pytest.fixture
def created(b2b, org):
    return b2b.scim.connection.create(
        organization_id=org.organization_id, display_name="Okta", identity_provider="okta"
    ).connection


def client(connection, token=None) -> ScimClient:
    return ScimClient(connection.base_url, token or connection.bearer_token)


class TestCreate:
    def test_shows_the_token_once_and_its_last_four_after(self, b2b, org, created):
        assert created.connection_id.startswith("scim-connection-test-")
        assert created.status == "active"
        assert created.identity_provider == "okta"
        assert len(created.bearer_token) >= 40

        got = b2b.scim.connection.get(organization_id=org.organization_id).connection

        assert got.connection_id == created.connection_id
        assert got.bearer_token_last_four == created.bearer_token[-4:]
        assert "bearer_token" not in got.model_dump()

    def test_base_url_is_under_keystiles_public_url(self, project, created):
        assert created.base_url == f"{project.server.base_url}scim/v2/{created.connection_id}"
        assert client(created).ok("GET", "/ServiceProviderConfig")["patch"]["supported"] is True

    def test_the_organization_shows_its_active_connection(self, b2b, org, created):
        shown = b2b.organizations.get(organization_id=org.organization_id).organization.scim_active_connection
        assert shown.connection_id == created.connection_id
        assert shown.display_name == "Okta"
        assert shown.bearer_token_last_four == created.bearer_token[-4:]

    def test_a_second_connection_is_refused(self, b2b, org, created):
        with pytest.raises(StytchError) as caught:
            b2b.scim.connection.create(organization_id=org.organization_id, display_name="Again")
        assert error_type(caught) == "scim_connection_already_exists"

    def test_an_unknown_identity_provider_is_refused(self, b2b, org):
        with pytest.raises(StytchError) as caught:
            b2b.scim.connection.create(organization_id=org.organization_id, identity_provider="acme-idp")
        assert error_type(caught) == "invalid_identity_provider"

    def test_get_without_a_connection_is_none(self, b2b, org):
        assert b2b.scim.connection.get(organization_id=org.organization_id).connection is None


class TestUpdate:
    def test_changes_name_and_provider(self, b2b, org, created):
        updated = b2b.scim.connection.update(
            organization_id=org.organization_id,
            connection_id=created.connection_id,
            display_name="Entra",
            identity_provider="microsoft-entra",
        ).connection
        assert (updated.display_name, updated.identity_provider) == ("Entra", "microsoft-entra")
        assert updated.base_url.endswith(f"/scim/v2/{created.connection_id}?aadOptscim062020")

    def test_maps_groups_to_roles_shown_with_their_source(self, project, b2b, org, created):
        set_policy(project, DOCUMENTS_POLICY)
        scim = client(created)
        user = scim.ok("POST", "/Users", okta_user(scim_email()), status=201)
        group = scim.ok("POST", "/Groups", {"displayName": "Editors", "members": [{"value": user["id"]}]}, status=201)

        updated = b2b.scim.connection.update(
            organization_id=org.organization_id,
            connection_id=created.connection_id,
            scim_group_implicit_role_assignments=[{"role_id": "editor", "group_id": group["id"]}],
        ).connection

        assert [(a.role_id, a.group_id, a.group_name) for a in updated.scim_group_implicit_role_assignments] == [
            ("editor", group["id"], "Editors")
        ]
        member = b2b.organizations.members.get(organization_id=org.organization_id, member_id=user["id"]).member
        editor = next(r for r in member.roles if r.role_id == "editor")
        assert [(s.type, s.details) for s in editor.sources] == [
            ("scim_connection_group", {"connection_id": created.connection_id, "group_id": group["id"]})
        ]

    def test_an_unknown_group_is_refused(self, project, b2b, org, created):
        set_policy(project, DOCUMENTS_POLICY)
        with pytest.raises(StytchError) as caught:
            b2b.scim.connection.update(
                organization_id=org.organization_id,
                connection_id=created.connection_id,
                scim_group_implicit_role_assignments=[{"role_id": "editor", "group_id": "scim-group-test-none"}],
            )
        assert error_type(caught) == "scim_group_not_found"

    def test_an_unknown_role_is_refused(self, b2b, org, created):
        with pytest.raises(StytchError) as caught:
            b2b.scim.connection.update(
                organization_id=org.organization_id,
                connection_id=created.connection_id,
                scim_group_implicit_role_assignments=[{"role_id": "nobody", "group_id": "g"}],
            )
        assert error_type(caught) == "invalid_rbac_role_id"


class TestGetGroups:
    def test_lists_the_pushed_groups_a_page_at_a_time(self, b2b, org, created):
        scim = client(created)
        names = ["Sales", "Support", "Finance"]
        for name in names:
            scim.ok("POST", "/Groups", {"displayName": name}, status=201)

        first = b2b.scim.connection.get_groups(
            organization_id=org.organization_id, connection_id=created.connection_id, limit=2
        )
        rest = b2b.scim.connection.get_groups(
            organization_id=org.organization_id, connection_id=created.connection_id, cursor=first.next_cursor
        )

        assert [g.group_name for g in first.scim_groups + rest.scim_groups] == names
        assert rest.next_cursor is None
        assert {g.connection_id for g in first.scim_groups} == {created.connection_id}


class TestRotation:
    def test_both_tokens_work_until_it_completes_then_only_the_new_one(self, b2b, org, created):
        ids = {"organization_id": org.organization_id, "connection_id": created.connection_id}
        started = b2b.scim.connection.rotate_start(**ids).connection
        new = started.next_bearer_token
        assert new != created.bearer_token
        assert client(created).call("GET", "/Users").status_code == 200
        assert client(created, new).call("GET", "/Users").status_code == 200

        completed = b2b.scim.connection.rotate_complete(**ids).connection

        assert completed.bearer_token_last_four == new[-4:]
        assert completed.next_bearer_token_last_four == ""
        assert client(created).call("GET", "/Users").status_code == 401
        assert client(created, new).call("GET", "/Users").status_code == 200

    def test_cancel_keeps_the_old_token_and_drops_the_new(self, b2b, org, created):
        ids = {"organization_id": org.organization_id, "connection_id": created.connection_id}
        new = b2b.scim.connection.rotate_start(**ids).connection.next_bearer_token

        cancelled = b2b.scim.connection.rotate_cancel(**ids).connection

        assert cancelled.bearer_token_last_four == created.bearer_token[-4:]
        assert client(created, new).call("GET", "/Users").status_code == 401
        assert client(created).call("GET", "/Users").status_code == 200

    def test_complete_without_start_is_refused(self, b2b, org, created):
        with pytest.raises(StytchError) as caught:
            b2b.scim.connection.rotate_complete(
                organization_id=org.organization_id, connection_id=created.connection_id
            )
        assert error_type(caught) == "scim_token_rotation_not_started"


class TestDelete:
    def test_the_token_stops_working_and_the_organization_has_none(self, b2b, org, created):
        deleted = b2b.scim.connection.delete(organization_id=org.organization_id, connection_id=created.connection_id)

        assert deleted.connection_id == created.connection_id
        assert client(created).call("GET", "/Users").status_code == 401
        assert b2b.scim.connection.get(organization_id=org.organization_id).connection is None
        assert b2b.organizations.get(organization_id=org.organization_id).organization.scim_active_connection is None

    def test_an_unknown_connection_is_not_found(self, b2b, org):
        with pytest.raises(StytchError) as caught:
            b2b.scim.connection.delete(organization_id=org.organization_id, connection_id="scim-connection-test-x")
        assert error_type(caught) == "scim_connection_not_found"


class TestTokens:
    def test_a_wrong_token_is_a_scim_401(self, created):
        resp = client(created, "not-the-token").call("GET", "/Users")
        assert resp.status_code == 401
        assert resp.headers["content-type"].startswith("application/scim+json")
        assert resp.json()["schemas"] == [ERROR]
        assert resp.json()["status"] == "401"

    def test_no_token_is_a_401(self, created):
        resp = ScimClient(created.base_url, "").call("GET", "/Users")
        assert resp.status_code == 401

    def test_another_organizations_token_is_refused(self, b2b, created):
        other_org = new_org(b2b, "Other")
        other = b2b.scim.connection.create(organization_id=other_org.organization_id).connection

        assert client(created, other.bearer_token).call("GET", "/Users").status_code == 401

    def test_another_organizations_members_are_not_seen(self, b2b, created):
        other_org = new_org(b2b, "Other")
        other = b2b.scim.connection.create(organization_id=other_org.organization_id).connection
        theirs = client(other).ok("POST", "/Users", okta_user(scim_email()), status=201)

        mine = client(created)
        assert mine.call("GET", f"/Users/{theirs['id']}").status_code == 404
        assert mine.ok("GET", "/Users")["totalResults"] == 0
        assert mine.call("DELETE", f"/Users/{theirs['id']}").status_code == 404

    def test_another_projects_secret_cannot_manage_the_connection(self, other_project, org, created):
        from tests.support import call

        resp = call(other_project, "GET", f"v1/b2b/scim/{org.organization_id}/connection")
        assert resp.status_code == 404
