"""Structured JSON logs (one line per request, errors with the request id, never a secret)
and the Prometheus metrics at /metrics."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import requests
import stytch
from starlette.testclient import TestClient
from stytch.core.response_base import StytchError

from keystile.app import create_app
from keystile.config import Settings
from keystile.core.observability import JSONFormatter, redact
from tests.support import Inbox, Serve, keystile_env, link_params, run_keystile


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


class TestLogs:
    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        """A keystile in a subprocess, driven through login flows; its whole output and
        every credential the flows saw."""
        data_dir: Path = tmp_path_factory.mktemp("logs") / "keystile-data"
        env = keystile_env(data_dir)
        project = json.loads(run_keystile(env, "projects", "create", "--name", "logs", "--json").stdout)
        run_keystile(
            env,
            "redirect-urls",
            "add",
            "--project",
            project["project_id"],
            "http://localhost:3000/authenticate",
            "--default",
        )
        server = Serve(env)
        seen: list[str] = [project["secret"]]
        request_ids: list[str] = []
        try:
            b2b = stytch.B2BClient(project["project_id"], project["secret"], environment=server.base_url)
            email = "ada@logs.test"
            request_ids.append(b2b.magic_links.email.discovery.send(email_address=email).request_id)
            link = Inbox(server.base_url).latest_link(email)
            token = link_params(link)["token"]
            seen += [link, token]
            discovered = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
            seen.append(discovered.intermediate_session_token)
            created = b2b.discovery.organizations.create(
                intermediate_session_token=discovered.intermediate_session_token, organization_name="Logs"
            )
            seen += [created.session_token, created.session_jwt]
            request_ids.append(b2b.sessions.authenticate(session_token=created.session_token).request_id)
            with pytest.raises(StytchError):  # a failing request: the token was used already
                b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
            bad = requests.post(
                f"{server.base_url}v1/b2b/sessions/authenticate",
                json={"session_token": "not-a-real-token-but-secret-looking-0123456789"},
                auth=(project["project_id"], project["secret"] + "x"),
                timeout=10,
            )
            seen += ["not-a-real-token-but-secret-looking-0123456789", project["secret"] + "x"]
            request_ids.append(bad.json()["request_id"])
        finally:
            assert server.stop() == 0
        return {"output": server.output, "seen": seen, "request_ids": request_ids}

    def test_no_credential_reaches_the_logs(self, run):
        leaked = [value for value in run["seen"] if value in run["output"]]
        assert leaked == []

    def test_every_log_line_is_json(self, run):
        lines = [line for line in run["output"].splitlines() if line.startswith("{")]
        assert lines and all(isinstance(json.loads(line), dict) for line in lines)

    def test_one_line_per_request_with_route_status_duration_and_request_id(self, run):
        access = {line["request_id"]: line for line in json_lines(run["output"]) if line["logger"] == "keystile.access"}
        sent = access[run["request_ids"][0]]
        assert sent["method"] == "POST"
        assert sent["route"] == "/v1/b2b/magic_links/email/discovery/send"
        assert sent["status"] == 200 and sent["duration_ms"] >= 0

    def test_a_refused_request_is_logged_with_its_status(self, run):
        access = {line["request_id"]: line for line in json_lines(run["output"]) if line["logger"] == "keystile.access"}
        assert access[run["request_ids"][-1]]["status"] == 401

    def test_thin_routes_are_logged_with_their_template(self, run):
        access = {line["request_id"]: line for line in json_lines(run["output"]) if line["logger"] == "keystile.access"}
        authenticated, refused = access[run["request_ids"][1]], access[run["request_ids"][-1]]
        assert (authenticated["route"], authenticated["status"]) == ("/v1/b2b/sessions/authenticate", 200)
        assert (refused["route"], refused["status"]) == ("/v1/b2b/sessions/authenticate", 401)


class TestErrorLogs:
    def test_an_unexpected_error_is_logged_with_the_request_id_and_traceback(self, tmp_path, caplog):
        app = create_app(Settings(data_dir=tmp_path))

        async def boom() -> None:
            raise RuntimeError("kaboom")

        app.add_api_route("/boom", boom)
        with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR, "keystile"):
            resp = client.get("/boom")
        assert resp.status_code == 500
        record = next(r for r in caplog.records if r.exc_info)
        line = json.loads(JSONFormatter().format(record))
        assert line["request_id"] == resp.json()["request_id"]
        assert line["error_type"] == "RuntimeError" and "kaboom" in line["error"]


class TestRedact:
    def test_a_magic_link_keeps_its_address_but_not_its_token(self):
        text = redact("sent http://localhost:3000/authenticate?stytch_token_type=discovery&token=abcDEF123_-")
        assert "abcDEF123" not in text and "http://localhost:3000/authenticate?" in text

    def test_project_secrets_basic_credentials_and_jwts(self):
        text = redact("secret-test-AbC_12 Basic dXNlcjpwYXNz Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
        assert "AbC_12" not in text and "dXNlcjpwYXNz" not in text and "c2ln" not in text

    def test_password_and_token_fields(self):
        text = redact('{"password": "hunter2", "session_token": "tok123"}')
        assert "hunter2" not in text and "tok123" not in text


def metrics_text(server: Any) -> str:
    resp = requests.get(f"{server.base_url}metrics", timeout=10)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return resp.text


class TestMetrics:
    def test_requests_are_counted_by_route_template_not_path(self, http, server):
        http.get(f"{http.base_url}v1/b2b/organizations/organization-test-00000000-0000-4000-8000-000000000000")
        text = metrics_text(server)
        assert (
            'keystile_http_requests_total{method="GET",route="/v1/b2b/organizations/{organization_id}",status="404"}'
            in text
        )
        assert "organization-test-00000000" not in text

    def test_latency_is_a_histogram_per_route_and_status(self, http, server):
        http.post(f"{http.base_url}v1/b2b/organizations/search", json={})
        text = metrics_text(server)
        assert (
            'keystile_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/b2b/organizations/search",status="200"}'
            in text
        )

    @pytest.mark.parametrize("path", ["/v1/b2b/sessions/authenticate", "/v1/sessions/authenticate"])
    def test_thin_routes_are_counted_by_their_template(self, http, server, path):
        assert http.post(f"{http.base_url}{path[1:]}", json={"session_token": "unknown-token"}).status_code == 404
        assert http.post(f"{http.base_url}{path[1:]}", json={"session_token": 5}).status_code == 400
        assert http.get(f"{http.base_url}{path[1:]}").status_code == 405
        text = metrics_text(server)
        for method, status in (("POST", 404), ("POST", 400), ("GET", 405)):
            assert f'keystile_http_requests_total{{method="{method}",route="{path}",status="{status}"}}' in text

    def test_a_path_refused_at_the_edge_is_counted_by_its_template(self, http, server):
        assert http.get(f"{http.base_url}v1/b2b/organizations/abc%00def").status_code == 400
        text = metrics_text(server)
        assert 'route="/v1/b2b/organizations/{organization_id}",status="400"' in text

    def test_plain_starlette_routes_are_counted_by_their_template(self, server):
        assert requests.get(f"{server.base_url}openapi.json", timeout=10).status_code == 200
        assert 'keystile_http_requests_total{method="GET",route="/openapi.json",status="200"}' in metrics_text(server)

    def test_unknown_paths_share_one_label(self, server):
        requests.get(f"{server.base_url}no/such/path/abc123", timeout=10)
        text = metrics_text(server)
        assert 'route="unmatched",status="404"' in text and "abc123" not in text

    def test_emails_by_outbox_status(self, server, b2b, inbox):
        b2b.magic_links.email.discovery.send(email_address="count@metrics.test")
        text = metrics_text(server)
        for status in ("queued", "sent", "failed"):
            assert f'keystile_emails{{status="{status}"}}' in text

    def test_counters_from_other_code_through_state_metrics(self, server):
        server.state.metrics.inc("rate_limit_hits_total", scope="email")
        assert 'keystile_rate_limit_hits_total{scope="email"}' in metrics_text(server)

    def test_a_counter_used_with_other_labels_does_not_fail(self, server):
        server.state.metrics.inc("rate_limit_hits_total", scope="project")
        server.state.metrics.inc("rate_limit_hits_total", other="label")
        assert 'keystile_rate_limit_hits_total{scope=""}' in metrics_text(server)
