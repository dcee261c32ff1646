"""The README's commands: `keystile serve` on an empty database, the CLI against a running
server's database, and `keystile.toml`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests
import stytch

from tests.support import KEYSTILE, Inbox, Serve, keystile_env, keystile_in_process


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`keystile …` run in this process (typer's CliRunner), with its own settings, engine
    and transaction; `keystile serve` and `--help` below run as processes of their own."""
    return keystile_in_process({"KEYSTILE_DATA_DIR": str(data_dir)}, *args)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "keystile-data"


def test_serve_on_an_empty_database_prints_a_working_test_project(data_dir):
    server = Serve(keystile_env(data_dir))
    server.stop()
    output = server.output
    fields = dict(
        line.split(None, 1) for line in output.splitlines() if line.strip().startswith(("project_id", "secret "))
    )
    project_id, secret = fields["project_id"].strip(), fields["secret"].strip()
    assert project_id.startswith("project-test-") and secret.startswith("secret-test-")
    assert "http://127.0.0.1:" in output
    # The printed credentials work once the server is up again on the same database.
    server = Serve(keystile_env(data_dir))
    try:
        client = stytch.B2BClient(project_id, secret, environment=server.base_url)
        assert client.organizations.search().results_metadata.total == 0
    finally:
        server.stop()
    again = server.output
    assert "secret-test-" not in again  # shown once, never again


def test_projects_create_json_is_only_json(data_dir):
    result = _cli(data_dir, "projects", "create", "--name", "ci", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["project_id"].startswith("project-test-")
    assert body["secret"].startswith("secret-test-")
    assert body["public_token"].startswith("public-token-test-")


def test_projects_create_live(data_dir):
    body = json.loads(_cli(data_dir, "projects", "create", "--name", "prod", "--live", "--json").stdout)
    assert body["project_id"].startswith("project-live-") and body["secret"].startswith("secret-live-")


def test_redirect_url_default_applies_to_every_type_given(data_dir):
    project = json.loads(_cli(data_dir, "projects", "create", "--name", "ci", "--json").stdout)
    url = "http://localhost:5000/authenticate"
    result = _cli(
        data_dir,
        "redirect-urls",
        "add",
        "--project",
        project["project_id"],
        url,
        "--type",
        "login",
        "--type",
        "discovery",
        "--default",
    )
    assert result.returncode == 0, result.stderr
    listed = json.loads(_cli(data_dir, "redirect-urls", "list", "--project", project["project_id"], "--json").stdout)
    assert listed == [{"url": url, "types": ["discovery", "login"], "default_for": ["discovery", "login"]}]


def test_redirect_urls_for_an_unknown_project_fail_clearly(data_dir):
    result = _cli(data_dir, "redirect-urls", "list", "--project", "project-test-nope")
    assert result.returncode != 0
    assert "project-test-nope" in result.stderr


def test_cli_changes_reach_a_running_server_at_once(data_dir):
    project = json.loads(_cli(data_dir, "projects", "create", "--name", "ci", "--json").stdout)
    server = Serve(keystile_env(data_dir))
    try:
        client = stytch.B2BClient(project["project_id"], project["secret"], environment=server.base_url)
        with pytest.raises(stytch.core.response_base.StytchError) as exc:
            client.magic_links.email.discovery.send(email_address="late@acme.test")
        assert exc.value.details.error_type == "no_discovery_redirect_urls_set"
        added = _cli(
            data_dir,
            "redirect-urls",
            "add",
            "--project",
            project["project_id"],
            "http://localhost:5000/authenticate",
            "--type",
            "discovery",
            "--default",
        )
        assert added.returncode == 0, added.stderr
        client.magic_links.email.discovery.send(email_address="late@acme.test")
        assert Inbox(server.base_url).latest_link("late@acme.test").startswith("http://localhost:5000/authenticate?")
    finally:
        server.stop()


def test_config_file_declares_projects_with_fixed_ids(data_dir, tmp_path):
    config = tmp_path / "keystile.toml"
    config.write_text(
        """
[[projects]]
project_id = "project-test-00000000-0000-0000-0000-000000000001"
secret = "secret-test-fixed-for-ci"
name = "app ci"
email_link_redirect = false  # links straight to the app (the redirect page is tested elsewhere)

[[projects.redirect_urls]]
url = "http://localhost:8000/authenticate"
types = ["login", "signup", "discovery", "invite"]
default = true
"""
    )
    for _ in range(2):  # a second start with the same file changes nothing
        server = Serve(keystile_env(data_dir), "--config", str(config))
        try:
            client = stytch.B2BClient(
                "project-test-00000000-0000-0000-0000-000000000001",
                "secret-test-fixed-for-ci",
                environment=server.base_url,
            )
            client.magic_links.email.discovery.send(email_address="ci@acme.test")
            link = requests.get(
                f"{server.base_url}dev/inbox/messages", params={"to": "ci@acme.test"}, timeout=10
            ).json()["messages"][0]["links"][0]
            assert link.startswith("http://localhost:8000/authenticate?")
        finally:
            server.stop()
        output = server.output
        assert "secret-test-" not in output  # a configured database is not empty: no dev project


def test_help_describes_every_command(data_dir):
    result = subprocess.run(
        [*KEYSTILE, "--help"], env=keystile_env(data_dir), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "projects", "redirect-urls"):
        assert command in result.stdout
