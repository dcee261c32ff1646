"""The five endpoints of the area proof over plain HTTP: whole bodies and error envelopes,
credentials, concurrent redemption of one impersonation token; and `keystile impersonate`
itself (its output, its refusals, its `--help`)."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import select

from keystile.models.tokens import tokens
from tests.flows import impersonate, new_email
from tests.support import ENVELOPE, assert_envelope, call, keystile_in_process, link_params, make_project

ENDPOINTS = [
    ("GET", "v1/debug/whoami"),
    ("GET", "v1/projects/metrics"),
    ("GET", "v1/rbac/policy"),
    ("POST", "v1/b2b/impersonation/authenticate"),
    ("POST", "v1/impersonation/authenticate"),
]


def new_user(project: Any) -> str:
    resp = call(project, "POST", "v1/users", json={"email": new_email()})
    assert resp.status_code == 200, resp.text
    return resp.json()["user_id"]


def cli(project: Any, *args: str) -> Any:
    server = project.server
    settings = {
        "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
        "KEYSTILE_DATABASE_URL": server.settings.database_url,
    }
    return keystile_in_process(settings, "impersonate", *args)


class TestCredentials:
    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    def test_a_wrong_secret_is_unauthorized_credentials(self, project, method, path):
        resp = call(project, method, path, auth=(project.project_id, "secret-test-wrong"), json={})

        assert set(assert_envelope(resp, 401, "unauthorized_credentials")) == ENVELOPE

    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    def test_no_credentials_is_unauthorized_credentials(self, project, method, path):
        resp = requests.request(method, f"{project.server.base_url}{path}", json={}, timeout=10)

        assert resp.status_code == 401
        assert resp.json()["error_type"] == "unauthorized_credentials"


class TestBodies:
    def test_whoami_is_the_project_and_its_name(self, project):
        body = call(project, "GET", "v1/debug/whoami").json()

        assert set(body) == {"status_code", "request_id", "project_id", "name"}
        assert body["status_code"] == 200
        assert body["project_id"] == project.project_id

    def test_metrics_lists_three_counts(self, project):
        new_user(project)

        body = call(project, "GET", "v1/projects/metrics").json()

        assert set(body) == {"status_code", "request_id", "project_id", "metrics"}
        assert body["metrics"] == [
            {"metric_type": "USER_COUNT", "count": 1},
            {"metric_type": "ORGANIZATION_COUNT", "count": 0},
            {"metric_type": "MEMBER_COUNT", "count": 0},
        ]

    def test_consumer_policy_has_every_field_of_the_sdk_model(self, project):
        body = call(project, "GET", "v1/rbac/policy").json()

        assert body["policy"] == {
            "roles": [{"role_id": "stytch_user", "description": "Granted to every User.", "permissions": []}],
            "resources": [],
            "scopes": [],
        }

    def test_consumer_authenticate_answers_the_sdk_models_fields(self, project):
        token = impersonate(project, "--user", new_user(project))["token"]

        body = call(project, "POST", "v1/impersonation/authenticate", json={"impersonation_token": token}).json()

        assert set(body) == {"status_code", "request_id", "user_id", "user", "session_token", "session_jwt", "session"}
        assert body["session"]["authentication_factors"][0]["impersonated_factor"] == {
            "impersonator_id": impersonate_id("support@keystile.test"),
            "impersonator_email_address": "support@keystile.test",
        }


def impersonate_id(email: str) -> str:
    from keystile.impersonation.service import impersonator_id

    return impersonator_id(email)


class TestImpersonationErrors:
    @pytest.mark.parametrize("path", ["v1/b2b/impersonation/authenticate", "v1/impersonation/authenticate"])
    def test_an_unknown_token_is_a_401_envelope(self, project, path):
        resp = call(project, "POST", path, json={"impersonation_token": "no-such-token"})

        assert set(assert_envelope(resp, 401, "unable_to_auth_impersonation_token")) == ENVELOPE

    @pytest.mark.parametrize("path", ["v1/b2b/impersonation/authenticate", "v1/impersonation/authenticate"])
    def test_a_missing_token_is_a_bad_request_naming_the_field(self, project, path):
        resp = call(project, "POST", path, json={})

        assert resp.status_code == 400
        assert resp.json()["error_type"] == "bad_request"
        assert "impersonation_token" in resp.json()["error_message"]

    def test_an_extension_of_an_impersonated_session_is_a_400_envelope(self, project):
        token = impersonate(project, "--user", new_user(project))["token"]
        session_token = call(
            project, "POST", "v1/impersonation/authenticate", json={"impersonation_token": token}
        ).json()["session_token"]

        resp = call(
            project,
            "POST",
            "v1/sessions/authenticate",
            json={"session_token": session_token, "session_duration_minutes": 120},
        )

        assert set(assert_envelope(resp, 400, "session_not_mutable_impersonated")) == ENVELOPE

    def test_concurrent_redemptions_of_one_token_give_exactly_one_session(self, project):
        token = impersonate(project, "--user", new_user(project))["token"]

        def redeem(_: int) -> int:
            return call(
                project, "POST", "v1/impersonation/authenticate", json={"impersonation_token": token}
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(redeem, range(8)))

        assert sorted(statuses) == [200] + [401] * 7


class TestImpersonateCommand:
    def test_help_names_every_option(self, project):
        done = keystile_in_process({}, "impersonate", "--help")

        assert done.returncode == 0
        for option in (
            "--project",
            "--member",
            "--organization",
            "--user",
            "--impersonator-email",
            "--impersonator-id",
            "--reason",
            "--json",
        ):
            assert option in done.stdout

    def test_prints_the_token_and_the_login_link(self, project):
        user_id = new_user(project)

        done = cli(project, "--project", project.project_id, "--user", user_id, "--impersonator-email", "s@k.test")

        assert done.returncode == 0, done.stderr
        token, link = done.stdout.split()
        assert link_params(link) == {"stytch_token_type": "impersonation", "token": token}
        assert link.startswith("http://localhost:3000/authenticate?")
        assert "single use" in done.stderr and "5 minutes" in done.stderr
        assert "/v1/impersonation/authenticate" in done.stderr

    def test_a_member_link_says_multi_tenant_impersonation(self, project):
        created = call(
            project,
            "POST",
            "v1/b2b/organizations",
            json={"organization_name": "Acme", "organization_slug": f"acme-{new_user(project)[-8:]}"},
        ).json()
        organization_id = created["organization"]["organization_id"]
        member = call(
            project,
            "POST",
            f"v1/b2b/organizations/{organization_id}/members",
            json={"email_address": new_email()},
        ).json()["member"]

        minted = impersonate(project, "--organization", organization_id, "--member", member["member_id"])

        assert minted["stytch_token_type"] == "multi_tenant_impersonation"
        assert link_params(minted["url"])["stytch_token_type"] == "multi_tenant_impersonation"
        assert (minted["organization_id"], minted["member_id"]) == (organization_id, member["member_id"])

    def test_json_names_the_subject_expiry_and_impersonator(self, project):
        user_id = new_user(project)

        minted = impersonate(project, "--user", user_id, "--reason", "ticket 7")

        assert set(minted) == {
            "token",
            "stytch_token_type",
            "expires_at",
            "url",
            "user_id",
            "impersonator_id",
            "impersonator_email_address",
        }
        assert minted["user_id"] == user_id
        assert minted["expires_at"].endswith("Z")

    def test_only_the_tokens_hash_is_stored(self, project):
        token = impersonate(project, "--user", new_user(project))["token"]
        server = project.server

        async def stored() -> list[Any]:
            async with server.state.transaction() as conn:
                rows = await conn.execute(
                    select(tokens.c.token_hash, tokens.c.kind).where(tokens.c.project_id == project.project_id)
                )
                return list(rows)

        rows = server.run(stored())
        assert [(r.token_hash, r.kind) for r in rows] == [(hashlib.sha256(token.encode()).hexdigest(), "impersonation")]

    def test_without_a_default_login_url_it_prints_the_token_alone(self, server):
        bare = make_project(server, redirect_urls=False)

        minted = impersonate(bare, "--user", new_user(bare))

        assert minted["url"] is None
        assert minted["token"]

    @pytest.mark.parametrize(
        "args",
        [
            ("--user", "u", "--member", "m", "--organization", "o"),
            ("--member", "m"),
            ("--organization", "o"),
            (),
        ],
    )
    def test_exactly_one_subject_is_required(self, project, args):
        done = cli(project, "--project", project.project_id, "--impersonator-email", "s@k.test", *args)

        assert done.returncode == 2
        assert "--member and --organization, or a User with --user" in done.stderr

    def test_an_unknown_project_is_refused(self, project):
        done = cli(project, "--project", "project-test-nope", "--user", "u", "--impersonator-email", "s@k.test")

        assert done.returncode == 2
        assert "No project project-test-nope" in done.stderr

    def test_an_unknown_user_is_refused_and_nothing_is_minted(self, project):
        done = cli(
            project, "--project", project.project_id, "--user", "user-test-nope", "--impersonator-email", "s@k.test"
        )

        assert done.returncode == 2
        assert "No user 'user-test-nope'" in done.stderr

    def test_a_deleted_member_is_refused(self, project):
        organization_id = call(
            project,
            "POST",
            "v1/b2b/organizations",
            json={"organization_name": "Gone", "organization_slug": f"gone-{new_user(project)[-8:]}"},
        ).json()["organization"]["organization_id"]
        member_id = call(
            project,
            "POST",
            f"v1/b2b/organizations/{organization_id}/members",
            json={"email_address": new_email()},
        ).json()["member"]["member_id"]
        call(project, "DELETE", f"v1/b2b/organizations/{organization_id}/members/{member_id}")

        done = cli(
            project,
            "--project",
            project.project_id,
            "--organization",
            organization_id,
            "--member",
            member_id,
            "--impersonator-email",
            "s@k.test",
        )

        assert done.returncode == 2
        assert "is deleted" in done.stderr

    def test_an_impersonator_email_must_be_an_address(self, project):
        done = cli(project, "--project", project.project_id, "--user", new_user(project), "--impersonator-email", "x")

        assert done.returncode == 2
        assert "is not an email address" in done.stderr

    def test_json_output_is_json_alone(self, project):
        done = cli(
            project,
            "--project",
            project.project_id,
            "--user",
            new_user(project),
            "--impersonator-email",
            "s@k.test",
            "--json",
        )

        assert done.returncode == 0
        assert json.loads(done.stdout)["stytch_token_type"] == "impersonation"
