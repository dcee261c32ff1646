"""The SCIM 2.0 service of a connection, driven as Okta and Microsoft Entra drive it (the
request sequences of their public SCIM documentation), with the member checked through the
SDK after each step: assign, update, deactivate, reactivate, unassign, group push."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from stytch.core.response_base import StytchError

from tests.flows import DOCUMENTS_POLICY, login, new_org, set_policy
from tests.scim_client import (
    CORE_GROUP,
    ENTERPRISE_USER,
    ERROR,
    ScimClient,
    entra_user,
    okta_user,
    scim_email,
)


@pytest.fixture
def org(b2b):
    return new_org(b2b)


@pytest.fixture
def connection(b2b, org):
    return b2b.scim.connection.create(organization_id=org.organization_id, identity_provider="okta").connection


@pytest.fixture
def scim(connection) -> ScimClient:
    return ScimClient(connection.base_url, connection.bearer_token)


def member_of(b2b: Any, org: Any, member_id: str) -> Any:
    """The member as the SDK shows it, deactivated (`deleted`) ones included."""
    member = b2b.organizations.members.dangerously_get(member_id=member_id, include_deleted=True).member
    assert member.organization_id == org.organization_id
    return member


def role_sources(member: Any) -> dict[str, list[str]]:
    return {r.role_id: [s.type for s in r.sources] for r in member.roles}


def session_works(b2b: Any, token: str) -> bool:
    try:
        b2b.sessions.authenticate(session_token=token)
    except StytchError as exc:
        assert exc.details.error_type == "session_not_found"
        return False
    return True


class TestOkta:
    def test_assign_update_deactivate_reactivate(self, b2b, inbox, org, connection, scim):
        email = scim_email("ada")
        # Okta looks the user up by userName before creating it.
        assert scim.ok("GET", "/Users", filter=f'userName eq "{email}"', startIndex=1, count=100)["totalResults"] == 0

        created = scim.ok("POST", "/Users", okta_user(email), status=201)
        member = member_of(b2b, org, created["id"])
        assert (member.status, member.email_address, member.name) == ("active", email, "Ada Lovelace")
        assert member.email_address_verified is True
        assert member.scim_registration.connection_id == connection.connection_id
        assert member.scim_registration.external_id == created["externalId"]
        assert member.scim_registration.scim_attributes.user_name == email
        assert "password" not in created

        fetched = scim.ok("GET", f"/Users/{created['id']}")
        assert fetched["userName"] == email and fetched["active"] is True
        assert scim.ok("GET", "/Users", filter=f'userName eq "{email}"')["Resources"][0]["id"] == created["id"]

        # A profile change: Okta sends the whole User with PUT.
        new_email = scim_email("ada.l")
        replaced = okta_user(new_email, externalId=created["externalId"])
        replaced["name"] = {"givenName": "Augusta", "familyName": "King"}
        replaced["displayName"] = "Augusta King"
        scim.ok("PUT", f"/Users/{created['id']}", {**replaced, "id": created["id"]})
        member = member_of(b2b, org, created["id"])
        assert (member.email_address, member.name) == (new_email, "Augusta King")

        session = login(b2b, inbox, org.organization_id, new_email).session_token
        assert session_works(b2b, session)

        # Unassigned or deactivated in Okta: a PATCH of active, without a path.
        scim.patch(f"/Users/{created['id']}", {"op": "replace", "value": {"active": False}})
        assert not session_works(b2b, session)  # revoked by the SCIM call itself
        assert member_of(b2b, org, created["id"]).status == "deleted"
        assert scim.ok("GET", f"/Users/{created['id']}")["active"] is False

        scim.patch(f"/Users/{created['id']}", {"op": "replace", "value": {"active": True}})
        member = member_of(b2b, org, created["id"])
        assert member.status == "active"
        assert member.email_address == new_email

    def test_group_push_grants_and_removes_mapped_roles(self, project, b2b, org, connection, scim):
        set_policy(project, DOCUMENTS_POLICY)
        ada = scim.ok("POST", "/Users", okta_user(scim_email("ada")), status=201)
        bob = scim.ok("POST", "/Users", okta_user(scim_email("bob")), status=201)
        # Okta pushes a group empty, then adds its members with a PATCH.
        group = scim.ok("POST", "/Groups", {"schemas": [CORE_GROUP], "displayName": "Editors", "members": []}, 201)
        b2b.scim.connection.update(
            organization_id=org.organization_id,
            connection_id=connection.connection_id,
            scim_group_implicit_role_assignments=[{"role_id": "editor", "group_id": group["id"]}],
        )
        scim.patch(
            f"/Groups/{group['id']}",
            {"op": "add", "path": "members", "value": [{"value": ada["id"], "display": "ada"}, {"value": bob["id"]}]},
        )
        assert role_sources(member_of(b2b, org, ada["id"]))["editor"] == ["scim_connection_group"]
        assert "editor" in role_sources(member_of(b2b, org, bob["id"]))
        groups = member_of(b2b, org, ada["id"]).scim_registration.scim_attributes.groups
        assert [(g.value, g.display) for g in groups] == [(group["id"], "Editors")]

        # Renamed in Okta: a replace without a path carrying id and displayName.
        scim.patch(f"/Groups/{group['id']}", {"op": "replace", "value": {"id": group["id"], "displayName": "Writers"}})
        assert scim.ok("GET", f"/Groups/{group['id']}")["displayName"] == "Writers"

        scim.patch(f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{bob["id"]}"]'})
        assert "editor" not in role_sources(member_of(b2b, org, bob["id"]))
        assert "editor" in role_sources(member_of(b2b, org, ada["id"]))

        assert scim.call("DELETE", f"/Groups/{group['id']}").status_code == 204
        assert "editor" not in role_sources(member_of(b2b, org, ada["id"]))
        assert scim.call("GET", f"/Groups/{group['id']}").status_code == 404


class TestEntra:
    def test_assign_update_disable_delete(self, b2b, inbox, org, scim):
        email = scim_email("grace")
        assert scim.ok("GET", "/Users", filter=f'userName eq "{email}"')["totalResults"] == 0
        created = scim.ok("POST", "/Users", entra_user(email), status=201)
        member = member_of(b2b, org, created["id"])
        assert (member.status, member.name) == ("active", "Grace Hopper")
        assert member.scim_registration.scim_attributes.enterprise_extension.department == "Research"
        assert created[ENTERPRISE_USER]["employeeNumber"] == "1729"

        # Entra's update: Replace with filtered paths and an extension attribute.
        new_email = scim_email("g.hopper")
        scim.patch(
            f"/Users/{created['id']}",
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new_email},
            {"op": "Replace", "path": "name.familyName", "value": "Murray Hopper"},
            {"op": "Replace", "path": "name.formatted", "value": "Grace Murray Hopper"},
            {"op": "Add", "path": f"{ENTERPRISE_USER}:department", "value": "Navy"},
        )
        member = member_of(b2b, org, created["id"])
        assert (member.email_address, member.name) == (new_email, "Grace Murray Hopper")
        assert member.scim_registration.scim_attributes.enterprise_extension.department == "Navy"

        session = login(b2b, inbox, org.organization_id, new_email).session_token
        # Disabled in Entra: active as the string "False".
        scim.patch(f"/Users/{created['id']}", {"op": "Replace", "path": "active", "value": "False"})
        assert not session_works(b2b, session)
        assert member_of(b2b, org, created["id"]).status == "deleted"

        assert scim.call("DELETE", f"/Users/{created['id']}").status_code == 204
        assert scim.call("GET", f"/Users/{created['id']}").status_code == 404
        assert member_of(b2b, org, created["id"]).scim_registration is None

    def test_group_members_added_and_removed_with_values(self, project, b2b, org, connection, scim):
        set_policy(project, DOCUMENTS_POLICY)
        user = scim.ok("POST", "/Users", entra_user(scim_email("grace")), status=201)
        group = scim.ok(
            "POST", "/Groups", {"schemas": [CORE_GROUP], "externalId": "8aa1a0c0", "displayName": "Admins"}, 201
        )
        b2b.scim.connection.update(
            organization_id=org.organization_id,
            connection_id=connection.connection_id,
            scim_group_implicit_role_assignments=[{"role_id": "editor", "group_id": group["id"]}],
        )
        # Entra checks the group by name, without its members.
        found = scim.ok("GET", "/Groups", filter='displayName eq "Admins"', excludedAttributes="members")
        assert [g["id"] for g in found["Resources"]] == [group["id"]]
        assert "members" not in found["Resources"][0]

        scim.patch(f"/Groups/{group['id']}", {"op": "Add", "path": "members", "value": [{"value": user["id"]}]})
        assert "editor" in role_sources(member_of(b2b, org, user["id"]))
        assert scim.ok("GET", f"/Groups/{group['id']}")["members"][0]["value"] == user["id"]

        # Entra removes a member with a value list rather than a filtered path.
        scim.patch(f"/Groups/{group['id']}", {"op": "Remove", "path": "members", "value": [{"value": user["id"]}]})
        assert "editor" not in role_sources(member_of(b2b, org, user["id"]))


class TestFilters:
    @pytest.fixture
    def people(self, scim):
        tag = uuid.uuid4().hex[:6]
        made = {}
        for name, active in (("alice", True), ("albert", True), ("bruno", False)):
            email = f"{name}-{tag}@acme.example"
            made[name] = scim.ok("POST", "/Users", okta_user(email, externalId=f"{name}-{tag}", active=active), 201)
        return tag, made

    def ids(self, scim, **params) -> set[str]:
        return {r["id"] for r in scim.ok("GET", "/Users", **params).get("Resources", [])}

    def test_operators_and_attributes(self, scim, people):
        tag, made = people
        alice, albert, bruno = (made[n]["id"] for n in ("alice", "albert", "bruno"))
        assert self.ids(scim, filter='userName sw "al"') == {alice, albert}
        assert self.ids(scim, filter=f'emails.value co "bert-{tag}"') == {albert}
        assert self.ids(scim, filter=f'externalId eq "bruno-{tag}"') == {bruno}
        assert self.ids(scim, filter="active eq false") == {bruno}
        assert self.ids(scim, filter='userName sw "al" and active eq true') == {alice, albert}
        assert self.ids(scim, filter=f'userName sw "bru" or externalId eq "alice-{tag}"') == {alice, bruno}
        assert self.ids(scim, filter="displayName pr") == {alice, albert, bruno}
        assert self.ids(scim, filter='emails[type eq "work" and value sw "alice"]') == {alice}

    def test_start_index_and_count_page_through(self, scim, people):
        first = scim.ok("GET", "/Users", startIndex=1, count=2)
        second = scim.ok("GET", "/Users", startIndex=3, count=2)
        assert first["totalResults"] == 3 and first["itemsPerPage"] == 2 and second["itemsPerPage"] == 1
        assert len({r["id"] for r in first["Resources"] + second["Resources"]}) == 3

    def test_a_malformed_filter_is_invalid_filter(self, scim):
        resp = scim.call("GET", "/Users", filter='userName eq "unterminated')
        assert resp.status_code == 400
        assert resp.json()["scimType"] == "invalidFilter"


class TestOnePerson:
    def test_a_member_who_came_by_magic_link_is_provisioned_not_duplicated(self, b2b, inbox, org, scim):
        email = scim_email("kate")
        existing = b2b.organizations.members.create(organization_id=org.organization_id, email_address=email).member
        session = login(b2b, inbox, org.organization_id, email).session_token

        created = scim.ok("POST", "/Users", okta_user(email), status=201)

        assert created["id"] == existing.member_id
        assert session_works(b2b, session)
        assert member_of(b2b, org, existing.member_id).scim_registration is not None

    def test_a_provisioned_member_logs_in_by_magic_link_as_itself(self, b2b, inbox, org, scim):
        email = scim_email("lin")
        created = scim.ok("POST", "/Users", okta_user(email), status=201)
        assert login(b2b, inbox, org.organization_id, email).member.member_id == created["id"]


class TestErrors:
    def test_a_duplicate_user_name_is_a_uniqueness_conflict(self, scim):
        email = scim_email()
        scim.ok("POST", "/Users", okta_user(email), status=201)
        resp = scim.call("POST", "/Users", okta_user(email))
        assert resp.status_code == 409
        assert resp.json()["scimType"] == "uniqueness"
        assert resp.headers["content-type"].startswith("application/scim+json")

    def test_an_unknown_user_is_a_scim_404(self, scim):
        resp = scim.call("GET", "/Users/member-test-nobody")
        assert resp.status_code == 404
        assert resp.json()["schemas"] == [ERROR]

    def test_a_body_that_is_not_json_is_invalid_syntax(self, scim):
        resp = scim.call("POST", "/Users")
        assert resp.status_code == 400
        assert resp.json()["scimType"] == "invalidSyntax"

    def test_a_user_without_user_name_is_invalid_and_writes_nothing(self, scim):
        resp = scim.call("POST", "/Users", {"schemas": [okta_user("x@acme.example")["schemas"][0]], "active": True})
        assert resp.status_code == 400
        assert resp.json()["scimType"] == "invalidValue"
        assert scim.ok("GET", "/Users")["totalResults"] == 0

    def test_an_unknown_route_is_a_scim_404(self, scim):
        resp = scim.call("GET", "/Nothing")
        assert resp.status_code == 404
        assert resp.json()["schemas"] == [ERROR]

    def test_a_group_with_a_member_of_another_connection_is_refused(self, scim):
        resp = scim.call("POST", "/Groups", {"displayName": "X", "members": [{"value": "member-test-other"}]})
        assert resp.status_code == 400
        assert resp.json()["scimType"] == "invalidValue"


class TestDiscovery:
    def test_service_provider_config_resource_types_and_schemas(self, scim):
        config = scim.ok("GET", "/ServiceProviderConfig")
        assert config["filter"]["supported"] is True and config["bulk"]["supported"] is False
        assert {r["id"] for r in scim.ok("GET", "/ResourceTypes")["Resources"]} == {"User", "Group"}
        schema_ids = {s["id"] for s in scim.ok("GET", "/Schemas")["Resources"]}
        assert ENTERPRISE_USER in schema_ids
        assert scim.ok("GET", "/ResourceTypes/User")["schemaExtensions"][0]["schema"] == ENTERPRISE_USER


class TestReplaceWithoutActive:
    def test_a_put_without_active_keeps_a_deactivated_member_deactivated(self, b2b, org, scim):
        email = scim_email("pat")
        created = scim.ok("POST", "/Users", okta_user(email), status=201)
        scim.patch(f"/Users/{created['id']}", {"op": "replace", "value": {"active": False}})

        body = okta_user(email, externalId=created["externalId"])
        del body["active"]
        scim.ok("PUT", f"/Users/{created['id']}", body)

        assert member_of(b2b, org, created["id"]).status == "deleted"
        assert scim.ok("GET", f"/Users/{created['id']}").get("active") is not True


class TestRace:
    def test_parallel_creates_of_one_user_make_one_member(self, b2b, org, scim):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        email = scim_email("race")
        gate = threading.Barrier(8)

        def create(_: int) -> int:
            gate.wait()
            return scim.call("POST", "/Users", okta_user(email)).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(create, range(8)))

        assert statuses == [201] + [409] * 7
        assert scim.ok("GET", "/Users", filter=f'userName eq "{email}"')["totalResults"] == 1
