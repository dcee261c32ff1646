"""Member administration and organization metrics over plain HTTP: whole error envelopes,
project isolation, bad input (4xx, nothing written) and what the SDK hides (query booleans)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.flows import new_email
from tests.support import assert_envelope, call


def new_org(project: Any) -> dict[str, Any]:
    resp = call(project, "POST", "/v1/b2b/organizations", json={"organization_name": "Acme"})
    assert resp.status_code == 200, resp.json()
    return resp.json()["organization"]


def new_member(project: Any, org: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"email_address": new_email(), **fields}
    resp = call(project, "POST", f"/v1/b2b/organizations/{org['organization_id']}/members", json=body)
    assert resp.status_code == 200, resp.json()
    return resp.json()["member"]


def members_path(org: dict[str, Any], member: dict[str, Any], suffix: str = "") -> str:
    return f"/v1/b2b/organizations/{org['organization_id']}/members/{member['member_id']}{suffix}"


class TestDangerouslyGet:
    def test_include_deleted_as_a_query_boolean(self, project):
        org = new_org(project)
        member = new_member(project, org)
        call(project, "DELETE", members_path(org, member))
        path = f"/v1/b2b/organizations/members/dangerously_get/{member['member_id']}"
        assert_envelope(call(project, "GET", path), 404, "member_not_found")
        resp = call(project, "GET", path, params={"include_deleted": "true"})
        assert resp.status_code == 200
        assert resp.json()["member"]["status"] == "deleted"

    def test_another_projects_member_is_not_found(self, project, other_project):
        member = new_member(other_project, new_org(other_project))
        path = f"/v1/b2b/organizations/members/dangerously_get/{member['member_id']}"
        assert_envelope(call(project, "GET", path), 404, "member_not_found")

    def test_without_credentials_is_unauthorized(self, project):
        member = new_member(project, new_org(project))
        path = f"/v1/b2b/organizations/members/dangerously_get/{member['member_id']}"
        assert_envelope(call(project, "GET", path, auth=None), 401, "unauthorized_credentials")


class TestReactivate:
    def test_active_member_envelope(self, project):
        org = new_org(project)
        member = new_member(project, org)
        assert_envelope(
            call(project, "PUT", members_path(org, member, "/reactivate"), json={}),
            400,
            "no_deleted_member_found_for_reactivation",
        )

    def test_another_projects_member_is_not_found(self, project, other_project):
        other_org = new_org(other_project)
        member = new_member(other_project, other_org)
        call(other_project, "DELETE", members_path(other_org, member))
        org = new_org(project)
        path = f"/v1/b2b/organizations/{org['organization_id']}/members/{member['member_id']}/reactivate"
        assert_envelope(call(project, "PUT", path, json={}), 404, "member_not_found")


class TestUnlinkRetiredEmail:
    def test_missing_identifiers_envelope(self, project):
        org = new_org(project)
        member = new_member(project, org)
        assert_envelope(
            call(project, "POST", members_path(org, member, "/unlink_retired_email"), json={}),
            400,
            "retired_email_missing_email_identifiers",
        )

    def test_retired_email_is_listed_with_its_id(self, project):
        org = new_org(project)
        member = new_member(project, org)
        new = new_email("new")
        resp = call(project, "PUT", members_path(org, member), json={"email_address": new})
        retired = resp.json()["member"]["retired_email_addresses"]
        assert [r["email_address"] for r in retired] == [member["email_address"]]
        assert set(retired[0]) == {"email_id", "email_address"}


class TestStartEmailUpdate:
    def test_missing_email_address_is_a_bad_request_and_nothing_is_sent(self, project):
        org = new_org(project)
        member = new_member(project, org)
        assert_envelope(
            call(project, "POST", members_path(org, member, "/start_email_update"), json={}), 400, "bad_request"
        )

    def test_invalid_email_address(self, project):
        org = new_org(project)
        member = new_member(project, org)
        assert_envelope(
            call(project, "POST", members_path(org, member, "/start_email_update"), json={"email_address": "nope"}),
            400,
            "invalid_email",
        )

    def test_redirect_url_outside_the_allowlist_is_refused(self, project, inbox):
        org = new_org(project)
        email = new_email()
        member = new_member(project, org, email_address=email)
        call(
            project,
            "POST",
            "/v1/b2b/magic_links/email/login_or_signup",
            json={"organization_id": org["organization_id"], "email_address": email},
        )
        call(project, "POST", "/v1/b2b/magic_links/authenticate", json={"magic_links_token": inbox.latest_token(email)})
        new = new_email("new")
        resp = call(
            project,
            "POST",
            members_path(org, member, "/start_email_update"),
            json={"email_address": new, "login_redirect_url": "https://evil.test/cb"},
        )
        assert resp.status_code == 400
        assert resp.json()["error_type"] == "invalid_login_redirect_url"
        assert inbox.messages(new) == []


class TestMemberExternalId:
    def test_delete_external_id_of_an_unknown_member(self, project):
        org = new_org(project)
        path = f"/v1/b2b/organizations/{org['organization_id']}/members/no-such-member/external_id"
        assert_envelope(call(project, "DELETE", path), 404, "member_not_found")


class TestOrganizationMetrics:
    def test_member_count(self, project):
        org = new_org(project)
        new_member(project, org)
        resp = call(project, "GET", f"/v1/b2b/organizations/{org['organization_id']}/metrics")
        assert resp.status_code == 200
        body = resp.json()
        assert body["member_count"] == 1
        assert body["status_code"] == 200 and body["request_id"].startswith("request-id-")

    def test_another_projects_organization_is_not_found(self, project, other_project):
        org = new_org(other_project)
        assert_envelope(
            call(project, "GET", f"/v1/b2b/organizations/{org['organization_id']}/metrics"),
            404,
            "organization_not_found",
        )


class TestOrganizationDeleteExternalId:
    def test_another_projects_organization_is_not_found_and_keeps_its_id(self, project, other_project):
        external = f"crm-{uuid.uuid4().hex[:8]}"
        resp = call(
            other_project,
            "POST",
            "/v1/b2b/organizations",
            json={"organization_name": "Acme", "organization_external_id": external},
        )
        org = resp.json()["organization"]
        assert_envelope(
            call(project, "DELETE", f"/v1/b2b/organizations/{org['organization_id']}/external_id"),
            404,
            "organization_not_found",
        )
        kept = call(other_project, "GET", f"/v1/b2b/organizations/{external}")
        assert kept.json()["organization"]["organization_external_id"] == external


class TestPolicyErrorsWriteNothing:
    def test_claimed_common_domain_envelope(self, project):
        org = new_org(project)
        body = assert_envelope(
            call(
                project,
                "PUT",
                f"/v1/b2b/organizations/{org['organization_id']}",
                json={"claimed_email_domains": ["gmail.com"]},
            ),
            400,
            "organization_settings_claimed_domain_too_common",
        )
        assert "gmail.com" in body["error_message"]
        got = call(project, "GET", f"/v1/b2b/organizations/{org['organization_id']}").json()["organization"]
        assert got["claimed_email_domains"] == []

    def test_closing_every_way_in_envelope(self, project):
        org = new_org(project)
        body = {"sso_jit_provisioning": "NOT_ALLOWED", "email_invites": "NOT_ALLOWED"}
        assert_envelope(
            call(project, "PUT", f"/v1/b2b/organizations/{org['organization_id']}", json=body),
            400,
            "invalid_organization_auth_factor_setting",
        )
        got = call(project, "GET", f"/v1/b2b/organizations/{org['organization_id']}").json()["organization"]
        assert got["email_invites"] == "ALL_ALLOWED"
        assert got["sso_jit_provisioning"] == "ALL_ALLOWED"
