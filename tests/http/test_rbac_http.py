"""RBAC over plain HTTP: whole error envelopes, the raw session headers, project isolation,
bad input; `keystile.toml`'s `[projects.rbac]` and the `keystile rbac` CLI."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from keystile.config import FileConfig
from keystile.projects.service import apply_file_config
from tests.flows import DOCUMENTS_POLICY, add_member, discovery_signup, new_email, set_policy
from tests.support import assert_envelope, keystile_in_process


def url(http: Any, path: str) -> str:
    return f"{http.base_url}{path.lstrip('/')}"


@pytest.fixture
def admin(b2b, inbox, project):
    set_policy(project, DOCUMENTS_POLICY)
    return discovery_signup(b2b, inbox, new_email())


@pytest.fixture
def org_id(admin):
    return admin.organization.organization_id


class TestPolicyEndpoint:
    def test_raw_policy_has_every_field_of_the_sdk_model(self, http):
        body = http.get(url(http, "/v1/b2b/rbac/policy")).json()
        assert body["status_code"] == 200
        assert set(body["policy"]) == {"roles", "resources", "scopes"}
        for role in body["policy"]["roles"]:
            assert set(role) == {"role_id", "description", "permissions"}
        for resource in body["policy"]["resources"]:
            assert set(resource) == {"resource_id", "description", "actions"}

    def test_wrong_secret_is_unauthorized(self, http, project):
        resp = http.get(
            url(http, "/v1/b2b/rbac/policy"),
            auth=(project.project_id, "secret-test-wrong"),
        )
        assert_envelope(resp, 401, "unauthorized_credentials")


class TestOrgPolicyEndpoint:
    def test_another_projects_organization_is_not_found(self, http, org_id, other_project):
        resp = http.get(url(http, f"/v1/b2b/rbac/organizations/{org_id}"), auth=other_project.auth)
        assert_envelope(resp, 404, "organization_not_found")

    def test_another_project_cannot_set_custom_roles(self, http, org_id, other_project):
        body = {"org_policy": {"roles": []}}
        resp = http.put(
            url(http, f"/v1/b2b/rbac/organizations/{org_id}"),
            json=body,
            auth=other_project.auth,
        )
        assert_envelope(resp, 404, "organization_not_found")

    def test_role_without_permissions_field_shape_is_invalid_custom_role(self, http, org_id):
        body = {"org_policy": {"roles": [{"role_id": "x", "permissions": "everything"}]}}
        resp = http.put(url(http, f"/v1/b2b/rbac/organizations/{org_id}"), json=body)
        assert_envelope(resp, 400, "invalid_rbac_custom_role")

    def test_custom_role_with_a_stytch_prefix_is_refused(self, http, org_id):
        role = {
            "role_id": "stytch_owner",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["read"]}],
        }
        resp = http.put(
            url(http, f"/v1/b2b/rbac/organizations/{org_id}"),
            json={"org_policy": {"roles": [role]}},
        )
        assert_envelope(resp, 400, "invalid_rbac_stytch_role_edit")
        assert http.get(url(http, f"/v1/b2b/rbac/organizations/{org_id}")).json()["org_policy"] == {"roles": []}

    def test_missing_org_policy_is_bad_request(self, http, org_id):
        resp = http.put(url(http, f"/v1/b2b/rbac/organizations/{org_id}"), json={})
        assert_envelope(resp, 400, "bad_request")


class TestEnvelopes:
    def test_refused_action_is_a_403_unauthorized_action_envelope(self, http, b2b, inbox, org_id):
        bob = add_member(b2b, inbox, org_id)
        resp = http.put(
            url(http, f"/v1/b2b/organizations/{org_id}"),
            json={"organization_name": "Hijacked"},
            headers={"X-Stytch-Member-Session": bob.session_token},
        )
        body = assert_envelope(resp, 403, "unauthorized_action")
        assert "update.info.name" in body["error_message"] and "stytch.organization" in body["error_message"]

    def test_session_jwt_header_runs_as_that_member(self, http, admin, org_id):
        resp = http.put(
            url(http, f"/v1/b2b/organizations/{org_id}"),
            json={"organization_name": "By JWT"},
            headers={"X-Stytch-Member-SessionJWT": admin.session_jwt},
        )
        assert resp.status_code == 200
        assert resp.json()["organization"]["organization_name"] == "By JWT"

    def test_garbage_session_jwt_header_is_refused_and_nothing_changes(self, http, org_id):
        before = http.get(url(http, f"/v1/b2b/organizations/{org_id}")).json()["organization"]["organization_name"]
        resp = http.put(
            url(http, f"/v1/b2b/organizations/{org_id}"),
            json={"organization_name": "Nope"},
            headers={"X-Stytch-Member-SessionJWT": "not.a.jwt"},
        )
        assert resp.status_code in (400, 401)
        assert (
            http.get(url(http, f"/v1/b2b/organizations/{org_id}")).json()["organization"]["organization_name"] == before
        )

    def test_revoked_session_header_is_session_not_found(self, http, b2b, inbox, admin, org_id):
        bob = add_member(b2b, inbox, org_id)
        b2b.sessions.revoke(session_token=bob.session_token)
        resp = http.delete(
            url(http, f"/v1/b2b/organizations/{org_id}"),
            headers={"X-Stytch-Member-Session": bob.session_token},
        )
        assert_envelope(resp, 404, "session_not_found")

    def test_another_projects_session_header_is_session_not_found(self, http, b2b, inbox, org_id, other_project):
        import stytch

        other_client = stytch.B2BClient(
            other_project.project_id,
            other_project.secret,
            environment=other_project.server.base_url,
        )
        stranger = discovery_signup(other_client, inbox, new_email())
        resp = http.delete(
            url(http, f"/v1/b2b/organizations/{org_id}"),
            headers={"X-Stytch-Member-Session": stranger.session_token},
        )
        assert_envelope(resp, 404, "session_not_found")
        assert http.get(url(http, f"/v1/b2b/organizations/{org_id}")).status_code == 200

    def test_failed_authorization_check_is_a_403_session_authorization_error_envelope(self, http, b2b, inbox, org_id):
        bob = add_member(b2b, inbox, org_id, roles=["editor"])
        resp = http.post(
            url(http, "/v1/b2b/sessions/authenticate"),
            json={
                "session_token": bob.session_token,
                "authorization_check": {
                    "organization_id": org_id,
                    "resource_id": "documents",
                    "action": "delete",
                },
            },
        )
        assert_envelope(resp, 403, "session_authorization_error")

    def test_authorization_check_missing_action_is_bad_request(self, http, admin, org_id):
        resp = http.post(
            url(http, "/v1/b2b/sessions/authenticate"),
            json={
                "session_token": admin.session_token,
                "authorization_check": {
                    "organization_id": org_id,
                    "resource_id": "documents",
                },
            },
        )
        assert_envelope(resp, 400, "bad_request")


class TestConfigFile:
    def test_keystile_toml_declares_a_projects_policy(self, server, b2b, project):
        text = f"""
[[projects]]
project_id = "{project.project_id}"
secret = "{project.secret}"

[[projects.rbac.resources]]
resource_id = "reports"
actions = ["view", "export"]

[[projects.rbac.roles]]
role_id = "analyst"
description = "Views reports"
permissions = [{{ resource_id = "reports", actions = ["view"] }}]
"""
        config = FileConfig.model_validate(tomllib.loads(text))

        async def work() -> None:
            async with server.state.transaction() as conn:
                await apply_file_config(conn, server.state.keyring, server.clock.now(), config)

        server.run(work())
        roles = {r.role_id for r in b2b.rbac.policy().policy.roles}
        assert roles == {"stytch_admin", "stytch_member", "analyst"}

    def test_invalid_policy_in_keystile_toml_is_rejected_at_load(self):
        text = """
[[projects]]
project_id = "p"
secret = "s"

[[projects.rbac.roles]]
role_id = "analyst"
permissions = [{ resource_id = "ghosts", actions = ["boo"] }]
"""
        with pytest.raises(ValueError, match="invalid_permission_resource"):
            FileConfig.model_validate(tomllib.loads(text))


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`keystile …` on the keystile in `data_dir`, run in this process (typer's CliRunner):
    its own settings, engine and transaction, without a new interpreter's start."""
    return keystile_in_process({"KEYSTILE_DATA_DIR": str(data_dir)}, *args)


class TestCLI:
    @pytest.fixture
    def cli_project(self, tmp_path: Path) -> tuple[Path, str]:
        data_dir = tmp_path / "data"
        created = cli(data_dir, "projects", "create", "--name", "rbac", "--json")
        assert created.returncode == 0, created.stderr
        return data_dir, json.loads(created.stdout)["project_id"]

    def test_set_from_a_file_then_show_as_json(self, cli_project, tmp_path):
        data_dir, project_id = cli_project
        policy = tmp_path / "policy.toml"
        policy.write_text(
            '[[resources]]\nresource_id = "documents"\nactions = ["read", "write"]\n\n'
            '[[roles]]\nrole_id = "editor"\npermissions = [{ resource_id = "documents", actions = ["read", "write"] }]\n'
        )
        result = cli(data_dir, "rbac", "set", "--project", project_id, "--file", str(policy))
        assert result.returncode == 0, result.stderr
        shown = json.loads(cli(data_dir, "rbac", "show", "--project", project_id, "--json").stdout)
        assert "editor" in [r["role_id"] for r in shown["roles"]]
        assert "documents" in [r["resource_id"] for r in shown["resources"]]

    def test_add_resource_and_role(self, cli_project):
        data_dir, project_id = cli_project
        assert (
            cli(
                data_dir,
                "rbac",
                "add-resource",
                "invoices",
                "--project",
                project_id,
                "--actions",
                "read,pay",
            ).returncode
            == 0
        )
        result = cli(
            data_dir,
            "rbac",
            "add-role",
            "payer",
            "--project",
            project_id,
            "--permission",
            "invoices:pay",
            "--json",
        )
        assert result.returncode == 0, result.stderr
        payer = next(r for r in json.loads(result.stdout)["roles"] if r["role_id"] == "payer")
        assert payer["permissions"] == [{"resource_id": "invoices", "actions": ["pay"]}]

    def test_role_naming_an_undeclared_action_is_refused(self, cli_project):
        data_dir, project_id = cli_project
        result = cli(
            data_dir,
            "rbac",
            "add-role",
            "x",
            "--project",
            project_id,
            "--permission",
            "stytch.member:fly",
        )
        assert result.returncode == 2
        assert "invalid_permission_action" in result.stderr

    def test_unknown_project_fails_clearly(self, tmp_path):
        result = cli(tmp_path / "data", "rbac", "show", "--project", "project-test-nope")
        assert result.returncode == 2
        assert "project-test-nope" in result.stderr
