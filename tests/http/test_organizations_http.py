"""Organizations and members over plain HTTP: project isolation, envelopes, bad input, and
the encodings of the two SDKs (path params copied into the body, `{}` DELETE bodies, nulls)."""

from __future__ import annotations

import uuid

import pytest

from tests.flows import new_email
from tests.support import assert_envelope, call


def create_org(project, **fields):
    fields.setdefault("organization_name", "Acme")
    fields.setdefault("organization_slug", f"acme-{uuid.uuid4().hex[:8]}")
    resp = call(project, "POST", "/v1/b2b/organizations", json=fields)
    assert resp.status_code == 200, resp.json()
    return resp.json()["organization"]


def create_member(project, org_id, email=None):
    email = email or new_email()
    resp = call(project, "POST", f"/v1/b2b/organizations/{org_id}/members", json={"email_address": email})
    assert resp.status_code == 200, resp.json()
    return resp.json()["member"]


def org_total(project):
    return call(project, "POST", "/v1/b2b/organizations/search", json={}).json()["results_metadata"]["total"]


@pytest.fixture
def org(project):
    return create_org(project, organization_external_id=f"ext-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def member(project, org):
    return create_member(project, org["organization_id"])


class TestOtherProjectCannotReachOrganizations:
    def test_get(self, other_project, org):
        for ref in (org["organization_id"], org["organization_slug"], org["organization_external_id"]):
            resp = call(other_project, "GET", f"/v1/b2b/organizations/{ref}")
            assert_envelope(resp, 404, "organization_not_found")

    def test_update(self, project, other_project, org):
        resp = call(
            other_project, "PUT", f"/v1/b2b/organizations/{org['organization_id']}", json={"organization_name": "Pwned"}
        )
        assert_envelope(resp, 404, "organization_not_found")
        got = call(project, "GET", f"/v1/b2b/organizations/{org['organization_id']}").json()["organization"]
        assert got["organization_name"] == "Acme"

    def test_delete(self, project, other_project, org):
        resp = call(other_project, "DELETE", f"/v1/b2b/organizations/{org['organization_id']}")
        assert_envelope(resp, 404, "organization_not_found")
        assert call(project, "GET", f"/v1/b2b/organizations/{org['organization_id']}").status_code == 200

    def test_search(self, other_project, org):
        query = {
            "operator": "AND",
            "operands": [{"filter_name": "organization_ids", "filter_value": [org["organization_id"]]}],
        }
        body = call(other_project, "POST", "/v1/b2b/organizations/search", json={"query": query}).json()
        assert body["organizations"] == []
        assert body["results_metadata"]["total"] == 0
        assert org_total(other_project) == 0

    def test_same_slug_is_free_in_another_project(self, other_project, org):
        created = create_org(other_project, organization_slug=org["organization_slug"])
        assert created["organization_id"] != org["organization_id"]


class TestOtherProjectCannotReachMembers:
    def test_create(self, project, other_project, org):
        resp = call(
            other_project,
            "POST",
            f"/v1/b2b/organizations/{org['organization_id']}/members",
            json={"email_address": "mallory@evil.test"},
        )
        assert_envelope(resp, 404, "organization_not_found")

    def test_get(self, other_project, org, member):
        resp = call(
            other_project,
            "GET",
            f"/v1/b2b/organizations/{org['organization_id']}/member",
            params={"member_id": member["member_id"]},
        )
        assert_envelope(resp, 404, "organization_not_found")

    def test_update(self, project, other_project, org, member):
        path = f"/v1/b2b/organizations/{org['organization_id']}/members/{member['member_id']}"
        assert_envelope(call(other_project, "PUT", path, json={"name": "Pwned"}), 404, "organization_not_found")
        got = call(
            project,
            "GET",
            f"/v1/b2b/organizations/{org['organization_id']}/member",
            params={"member_id": member["member_id"]},
        ).json()
        assert got["member"]["name"] == ""

    def test_delete(self, project, other_project, org, member):
        path = f"/v1/b2b/organizations/{org['organization_id']}/members/{member['member_id']}"
        assert_envelope(call(other_project, "DELETE", path), 404, "organization_not_found")
        got = call(
            project,
            "GET",
            f"/v1/b2b/organizations/{org['organization_id']}/member",
            params={"member_id": member["member_id"]},
        ).json()
        assert got["member"]["status"] == "active"

    def test_search(self, other_project, org, member):
        resp = call(
            other_project,
            "POST",
            "/v1/b2b/organizations/members/search",
            json={"organization_ids": [org["organization_id"]]},
        )
        assert_envelope(resp, 404, "organization_not_found")

    def test_member_of_another_project_in_own_organization_is_not_found(self, other_project, member):
        own = create_org(other_project)
        resp = call(
            other_project,
            "GET",
            f"/v1/b2b/organizations/{own['organization_id']}/member",
            params={"member_id": member["member_id"]},
        )
        assert_envelope(resp, 404, "member_not_found")


class TestBadInput:
    def test_malformed_json(self, project):
        resp = call(
            project,
            "POST",
            "/v1/b2b/organizations",
            data=b'{"organization_name": ',
            headers={"Content-Type": "application/json"},
        )
        assert_envelope(resp, 400, "bad_request")

    def test_wrong_field_type(self, project):
        body = {"organization_name": "Acme", "email_allowed_domains": "acme.test"}
        resp = call(project, "POST", "/v1/b2b/organizations", json=body)
        assert_envelope(resp, 400, "bad_request")
        assert "email_allowed_domains" in resp.json()["error_message"]

    def test_name_of_wrong_type(self, project):
        assert_envelope(
            call(project, "POST", "/v1/b2b/organizations", json={"organization_name": 5}), 400, "bad_request"
        )

    def test_missing_name(self, project):
        assert_envelope(call(project, "POST", "/v1/b2b/organizations", json={}), 400, "organization_name_missing")

    def test_unknown_setting_value(self, project):
        body = {"organization_name": "Acme", "mfa_policy": "SOMETIMES"}
        resp = call(project, "POST", "/v1/b2b/organizations", json=body)
        assert_envelope(resp, 400, "invalid_organization_auth_factor_setting")

    def test_bad_external_id(self, project):
        body = {"organization_name": "Acme", "organization_external_id": "a b"}
        resp = call(project, "POST", "/v1/b2b/organizations", json=body)
        assert_envelope(resp, 400, "invalid_argument")

    def test_nothing_written_after_failed_create(self, project):
        for body in (
            {"organization_name": "Acme", "email_allowed_domains": ["gmail.com"]},
            {"organization_name": "Acme", "email_invites": "RESTRICTED"},
            {"organization_name": "Acme", "organization_slug": "!"},
        ):
            assert call(project, "POST", "/v1/b2b/organizations", json=body).status_code == 400
        assert org_total(project) == 0

    def test_nothing_written_after_failed_update(self, project, org):
        resp = call(
            project,
            "PUT",
            f"/v1/b2b/organizations/{org['organization_id']}",
            json={"organization_name": "Renamed", "email_invites": "RESTRICTED"},
        )
        assert_envelope(resp, 400, "invalid_restricted_email_setting")
        got = call(project, "GET", f"/v1/b2b/organizations/{org['organization_id']}").json()["organization"]
        assert got["organization_name"] == "Acme"

    def test_member_search_without_organization_ids(self, project):
        resp = call(project, "POST", "/v1/b2b/organizations/members/search", json={})
        assert_envelope(resp, 400, "member_search_organization_ids_empty")

    def test_search_query_of_wrong_shape(self, project):
        body = {"query": {"operator": "XOR", "operands": []}}
        resp = call(project, "POST", "/v1/b2b/organizations/search", json=body)
        assert_envelope(resp, 400, "organization_search_invalid_operator")

    def test_member_mfa_phone_is_stored_as_e164_or_refused(self, project, org):
        path = f"/v1/b2b/organizations/{org['organization_id']}/members"
        resp = call(project, "POST", path, json={"email_address": "ada@acme.test", "mfa_phone_number": "+1 555 0100"})
        assert_envelope(resp, 400, "invalid_phone_number")
        body = {"organization_ids": [org["organization_id"]]}
        search = call(project, "POST", "/v1/b2b/organizations/members/search", json=body).json()
        assert search["results_metadata"]["total"] == 0
        typed = {"email_address": "ada@acme.test", "mfa_phone_number": "+1 (202) 555-0142"}
        member = call(project, "POST", path, json=typed).json()["member"]
        assert (member["mfa_phone_number"], member["mfa_phone_number_verified"]) == ("+12025550142", False)


class TestSdkEncodings:
    def test_success_envelope(self, project, org):
        body = call(project, "GET", f"/v1/b2b/organizations/{org['organization_id']}").json()
        assert body["status_code"] == 200
        assert body["request_id"].startswith("request-id-")

    def test_python_sdk_path_params_copied_into_query_and_body(self, project, org, member):
        org_id = org["organization_id"]
        resp = call(project, "GET", f"/v1/b2b/organizations/{org_id}", params={"organization_id": org_id})
        assert resp.status_code == 200
        resp = call(
            project,
            "PUT",
            f"/v1/b2b/organizations/{org_id}/members/{member['member_id']}",
            json={"organization_id": org_id, "member_id": member["member_id"], "name": "Ada"},
        )
        assert resp.json()["member"]["name"] == "Ada"

    def test_node_sdk_delete_with_empty_body(self, project, org):
        resp = call(project, "DELETE", f"/v1/b2b/organizations/{org['organization_id']}", json={})
        assert resp.status_code == 200
        assert resp.json()["organization_id"] == org["organization_id"]

    def test_explicit_nulls_leave_fields_unchanged(self, project, org):
        resp = call(
            project,
            "PUT",
            f"/v1/b2b/organizations/{org['organization_id']}",
            json={
                "organization_name": None,
                "organization_slug": None,
                "email_invites": None,
                "mfa_policy": "OPTIONAL",
            },
        )
        got = resp.json()["organization"]
        assert got["organization_name"] == "Acme"
        assert got["organization_slug"] == org["organization_slug"]
        assert got["email_invites"] == org["email_invites"]

    def test_percent_encoded_external_id_in_path(self, project):
        created = create_org(project, organization_external_id="crm|99")
        resp = call(project, "GET", "/v1/b2b/organizations/crm%7C99")
        assert resp.json()["organization"]["organization_id"] == created["organization_id"]
