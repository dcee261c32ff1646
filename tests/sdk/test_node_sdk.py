"""The official Stytch Node SDK (14.2.0) against keystile: the scripts in tests/node drive
whole flows with `new stytch.B2BClient(...)` / `new stytch.Client(...)` pointed at the test
server and print a JSON summary; these tests run them and read that summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.flows import impersonate, new_email
from tests.support import IN_CI, Inbox, ProjectInfo, Server, make_project

NODE_DIR = Path(__file__).resolve().parent.parent / "node"


def _missing_tool(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI needs it for the Node SDK tests")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` binary, with tests/node's dependencies (stytch) installed."""
    node_bin = shutil.which("node")
    if node_bin is None:
        _missing_tool("node is not installed")
    if not (NODE_DIR / "node_modules" / "stytch" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            _missing_tool("npm is not installed")
        command = [npm, "ci" if (NODE_DIR / "package-lock.json").exists() else "install", "--no-audit", "--no-fund"]
        done = subprocess.run(command, cwd=NODE_DIR, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(command)} failed in {NODE_DIR}:\n{done.stdout}\n{done.stderr}"
    return node_bin  # type: ignore[return-value]


def run_script(node: str, project: ProjectInfo, script: str, **extra_env: str) -> dict[str, Any]:
    """Run one tests/node script against `project`'s server (with `extra_env` set); its parsed JSON summary."""
    server = project.server
    env = {
        **os.environ,
        **extra_env,
        "KEYSTILE_URL": server.base_url,
        "STYTCH_PROJECT_ID": project.project_id,
        "STYTCH_SECRET": project.secret,
        # The test server's clock may have been moved ahead; JWTs are checked at its "now".
        "KEYSTILE_CLOCK_OFFSET_MS": str(int(server.clock.offset.total_seconds() * 1000)),
    }
    done = subprocess.run([node, script], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"node {script} exited {done.returncode}:\n{done.stderr}\n{done.stdout}"
    lines = done.stdout.strip().splitlines()
    assert lines, f"node {script} printed no summary; stderr:\n{done.stderr}"
    return json.loads(lines[-1])


@pytest.fixture(scope="class")
def b2b_run(node: str, server: Server) -> tuple[ProjectInfo, dict[str, Any]]:
    """b2b_discovery.mjs, run once per backend against a fresh project."""
    project = make_project(server)
    return project, run_script(node, project, "b2b_discovery.mjs")


@pytest.fixture(scope="class")
def consumer_run(node: str, server: Server) -> tuple[ProjectInfo, dict[str, Any]]:
    """consumer_magic_link.mjs, run once per backend against a fresh project."""
    project = make_project(server)
    return project, run_script(node, project, "consumer_magic_link.mjs")


@pytest.fixture(scope="class")
def area_run(node: str, server: Server) -> tuple[ProjectInfo, dict[str, Any]]:
    """area_endpoints.mjs, run once per backend against a fresh project with a Member and a
    User, and an impersonation token minted for each by `keystile impersonate`."""
    import requests

    project = make_project(server)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = requests.post(f"{server.base_url}{path}", auth=project.auth, json=body, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    organization_id = post("v1/b2b/organizations", {"organization_name": "Node Impersonation"})["organization"][
        "organization_id"
    ]
    member_id = post(f"v1/b2b/organizations/{organization_id}/members", {"email_address": new_email()})["member"][
        "member_id"
    ]
    user_id = post("v1/users", {"email": new_email()})["user_id"]
    summary = run_script(
        node,
        project,
        "area_endpoints.mjs",
        MEMBER_IMPERSONATION_TOKEN=impersonate(project, "--organization", organization_id, "--member", member_id)[
            "token"
        ],
        USER_IMPERSONATION_TOKEN=impersonate(project, "--user", user_id)["token"],
    )
    return project, {**summary, "expected_member_id": member_id, "expected_user_id": user_id}


class TestNodeB2BClient:
    def test_discovery_flow_completes_every_step(self, b2b_run):
        _, summary = b2b_run

        assert summary["ok"] is True
        assert summary["steps"] == [
            "magicLinks.email.discovery.send",
            "dev inbox (first link)",
            "magicLinks.discovery.authenticate",
            "discovery.organizations.create",
            "sessions.authenticate (session_token)",
            "sessions.authenticateJwtLocal",
            "sessions.authenticateJwt",
            "discovery.organizations.list (session_token)",
            "magicLinks.email.discovery.send (again)",
            "dev inbox (second link)",
            "magicLinks.discovery.authenticate (again)",
            "discovery.intermediateSessions.exchange",
            "sessions.revoke (member_session_id)",
            "sessions.authenticate (revoked)",
            "sessions.authenticate (other session still valid)",
        ]

    def test_session_jwt_verifies_locally_against_keystile_jwks(self, b2b_run):
        _, summary = b2b_run

        assert summary["jwt_verified_locally"] is True

    def test_ids_have_stytch_test_formats(self, b2b_run):
        _, summary = b2b_run

        assert summary["member_id"].startswith("member-test-")
        assert summary["organization_id"].startswith("organization-test-")
        assert summary["member_session_id"].startswith("member-session-test-")

    def test_both_discovery_emails_are_in_the_dev_inbox(self, b2b_run):
        project, summary = b2b_run

        messages = Inbox(project.server.base_url).messages(summary["email"])
        assert len(messages) == 2
        assert messages[-1]["links"][0] == summary["link"]


class TestNodeConsumerClient:
    def test_magic_link_flow_completes_every_step(self, consumer_run):
        _, summary = consumer_run

        assert summary["ok"] is True
        assert summary["steps"] == [
            "magicLinks.email.loginOrCreate",
            "dev inbox",
            "magicLinks.authenticate",
            "sessions.authenticateJwtLocal",
            "sessions.authenticateJwt",
            "sessions.authenticate (session_token)",
        ]

    def test_session_jwt_verifies_locally_against_keystile_jwks(self, consumer_run):
        _, summary = consumer_run

        assert summary["jwt_verified_locally"] is True

    def test_ids_have_stytch_test_formats(self, consumer_run):
        _, summary = consumer_run

        assert summary["user_id"].startswith("user-test-")
        assert summary["session_id"].startswith("session-test-")

    def test_the_login_email_is_in_the_dev_inbox(self, consumer_run):
        project, summary = consumer_run

        messages = Inbox(project.server.base_url).messages(summary["email"])
        assert len(messages) == 1
        assert messages[0]["links"][0] == summary["link"]


class TestNodeAreaEndpoints:
    """debug.whoami, project.metrics, rbac.policy and both impersonation.authenticate."""

    def test_every_step_completes(self, area_run):
        _, summary = area_run

        assert summary["ok"] is True, summary
        assert summary["steps"] == [
            "debug.whoami",
            "project.metrics",
            "rbac.policy",
            "b2b.impersonation.authenticate",
            "b2b.sessions.authenticateJwtLocal",
            "b2b.sessions.authenticate (extend)",
            "b2b.impersonation.authenticate (again)",
            "impersonation.authenticate",
            "impersonation.authenticate (again)",
        ]

    def test_whoami_metrics_and_policy_describe_the_project(self, area_run):
        _, summary = area_run

        assert summary["project_name"].startswith("test-")
        assert summary["metrics"] == {"USER_COUNT": 1, "ORGANIZATION_COUNT": 1, "MEMBER_COUNT": 1}
        assert summary["consumer_roles"] == ["stytch_user"]

    def test_the_sessions_are_the_impersonated_member_and_user_for_sixty_minutes(self, area_run):
        _, summary = area_run

        assert summary["member_id"] == summary["expected_member_id"]
        assert summary["user_id"] == summary["expected_user_id"]
        assert summary["member_session_minutes"] == 60
        assert summary["user_session_minutes"] == 60
        assert summary["member_impersonator"]["impersonator_email_address"] == "support@keystile.test"
        assert summary["user_impersonator"]["impersonator_email_address"] == "support@keystile.test"


class TestNodeSandboxValues:
    def test_every_sandbox_value_gets_its_documented_answer_and_nothing_is_sent(self, node, server):
        summary = run_script(node, make_project(server), "sandbox_values.mjs")

        assert summary["ok"] is True, summary
        # The 17 documented values (tests/sdk/test_sandbox_values.py), and two steps of the flows going on.
        assert len(summary["steps"]) == 17 + 2
        assert {"b2b sessions.authenticate", "sessions.authenticateJwtLocal"} <= set(summary["steps"])
        assert summary["user_id"].startswith("user-test-")
        assert summary["member_id"].startswith("member-test-")


class TestNodeTestClock:
    def test_a_magic_link_and_a_session_expire_after_an_advance_and_not_the_neighbours(self, node, server):
        neighbour = make_project(server)
        summary = run_script(
            node,
            make_project(server),
            "test_clock.mjs",
            NEIGHBOUR_PROJECT_ID=neighbour.project_id,
            NEIGHBOUR_SECRET=neighbour.secret,
        )

        assert summary["ok"] is True, summary
        assert summary["offset_seconds"] == 61 * 60
        assert summary["steps"][-4:] == [
            "ours magicLinks.authenticate (expired)",
            "ours sessions.authenticate (expired)",
            "theirs magicLinks.authenticate",
            "theirs sessions.authenticate",
        ]


class TestNodeB2BMfa:
    def test_a_totp_and_a_recovery_code_complete_an_mfa_login(self, node, server):
        summary = run_script(node, make_project(server), "b2b_mfa.mjs")

        assert summary["ok"] is True, summary
        assert summary["factors"] == ["magic_link", "totp"]
        assert summary["totp_registration_id"].startswith("member-totp-test-")
        assert summary["stepped_factors"] == ["magic_link", "totp", "recovery_codes"]
        assert summary["recovery_codes_remaining"] == 9
        assert summary["steps"][-1] == "recoveryCodes.recover (used code)"


class TestNodeB2BPasswords:
    def test_a_member_sets_a_password_by_email_logs_in_and_loses_it(self, node, server):
        summary = run_script(node, make_project(server), "b2b_passwords.mjs")

        assert summary["ok"] is True, summary
        assert summary["token_type"] == "multi_tenant_passwords"
        assert summary["member_password_id"].startswith("member-password-test-") or summary["member_password_id"]
        assert summary["factors"] == ["password/knowledge"]
        assert summary["weak_valid"] is False
        assert summary["member_password_id_after"] == ""
        assert summary["steps"][-1] == "organizations.members.deletePassword"


class TestNodeB2BSSO:
    def test_an_oidc_connection_is_set_up_and_a_member_logs_in_through_it(self, node, server, oidc_provider):
        project = make_project(server)
        summary = run_script(
            node,
            project,
            "b2b_sso_oidc.mjs",
            STYTCH_PUBLIC_TOKEN=project.public_token,
            OIDC_ISSUER=oidc_provider.issuer,
        )

        assert summary["ok"] is True, summary
        assert summary["factors"] == ["sso/sso_oidc"]
        assert summary["registrations"] == [summary["connection_id"]]
        assert summary["steps"][-1] == "sso.deleteConnection"


class TestNodeB2BScim:
    def test_a_directory_provisions_a_member_through_a_connection_managed_by_the_node_sdk(self, node, server):
        summary = run_script(node, make_project(server), "b2b_scim.mjs")

        assert summary["ok"] is True, summary
        assert summary["registration_connection"] == summary["connection_id"]
        assert summary["admin_sources"] == ["scim_connection_group"]
        assert summary["groups"] == ["Admins"]
        assert summary["old_token_after"] == 401
        assert summary["status_after"] == "deleted"
        assert summary["token_after_delete"] == 401
        assert summary["steps"][-1] == "scim.connection.delete"


@pytest.fixture(scope="class")
def oauth_run(node: str, server: Server, oidc_provider: Any) -> tuple[ProjectInfo, dict[str, Any]]:
    """b2b_oauth.mjs, run once per backend: a Google login at the local OpenID provider made
    by the Python test's browser, its `oauth` token redeemed by the Node SDK."""
    import requests

    from tests.sdk.test_oauth_b2b import configure, log_in, start_url, token_of

    project = make_project(server)
    configure(project, "google", oidc_provider)
    resp = requests.post(
        f"{server.base_url}v1/b2b/organizations",
        auth=project.auth,
        json={
            "organization_name": "Node OAuth",
            "email_allowed_domains": ["acme.test"],
            "email_jit_provisioning": "RESTRICTED",
        },
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    organization_id = resp.json()["organization"]["organization_id"]
    account = oidc_provider.add_account(email=new_email())
    landed = log_in(oidc_provider, start_url(project, organization_id=organization_id), account)
    summary = run_script(node, project, "b2b_oauth.mjs", OAUTH_TOKEN=token_of(landed))
    return project, {**summary, "expected_subject": account.sub, "expected_organization_id": organization_id}


class TestNodeB2BOAuth:
    def test_oauth_flow_completes_every_step(self, oauth_run):
        _, summary = oauth_run

        assert summary["ok"] is True, summary
        assert summary["steps"] == [
            "oauth.authenticate",
            "oauth.authenticate (again)",
            "sessions.authenticate",
            "organizations.members.oauthProviders.google",
        ]
        assert summary["provider_subject"] == summary["expected_subject"]
        assert summary["organization_id"] == summary["expected_organization_id"]
        assert summary["member_id"].startswith("member-test-")
