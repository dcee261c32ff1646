"""A project's OAuth clients, set with `keystile oauth` and from keystile.toml
`[projects.oauth.<provider>]`: secrets stored sealed and never printed, providers and settings
checked, the callback URL to paste printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keystile.config import ConfigFileError, load_file_config
from keystile.oauth import registrations
from tests.support import Server, keystile_in_process, make_project


def cli(data_dir: Path, *args: str) -> tuple[int, str]:
    done = keystile_in_process({"KEYSTILE_DATA_DIR": str(data_dir)}, *args)
    return done.returncode, done.stdout + done.stderr


def test_keystile_oauth_sets_lists_and_removes_a_client(tmp_path):
    code, out = cli(tmp_path, "projects", "create", "--name", "oauth", "--json")
    assert code == 0, out
    created = json.loads(out)
    project = created["project_id"]
    secret = "client-secret-never-printed-0123456789"
    code, out = cli(
        tmp_path,
        "oauth",
        "set",
        "google",
        "--project",
        project,
        "--client-id",
        "cid.apps.googleusercontent.com",
        "--client-secret",
        secret,
        "--token-url",
        "https://proxy.example/token",
        "--scopes",
        "openid email",
    )
    assert code == 0, out
    code, out = cli(tmp_path, "oauth", "list", "--project", project, "--json")
    assert code == 0, out
    [client] = json.loads(out)["clients"]
    assert client["client_id"] == "cid.apps.googleusercontent.com"
    assert client["settings"] == {"token_url": "https://proxy.example/token", "scopes": ["openid", "email"]}
    assert secret not in out

    code, out = cli(tmp_path, "oauth", "providers", "--project", project, "--json")
    shown = json.loads(out)
    assert shown["callback_url"].endswith(f"/v1/oauth/callback/{created['public_token']}")
    assert {"google", "github", "apple", "microsoft"} <= {p["provider"] for p in shown["providers"]}

    code, out = cli(
        tmp_path, "oauth", "set", "myspace", "--project", project, "--client-id", "x", "--client-secret", "y"
    )
    assert code != 0 and "no OAuth provider 'myspace'" in out
    code, out = cli(
        tmp_path, "oauth", "set", "github", "--project", project, "--client-id", "x", "--client-secret", "y",
        "--token-url", "ftp://nope",
    )  # fmt: skip
    assert code != 0 and "token_url must be an http(s) URL" in out
    code, out = cli(tmp_path, "oauth", "remove", "google", "--project", project)
    assert code == 0, out
    code, out = cli(tmp_path, "oauth", "remove", "google", "--project", project)
    assert code != 0 and "no OAuth client for google" in out


def _apply(server: Server, path: Path) -> list[str]:
    config = load_file_config(path)

    async def work() -> list[str]:
        async with server.state.transaction() as conn:
            return await registrations.apply_file_config(
                conn, server.state.keyring.master, server.state.clock.now(), config
            )

    return server.run(work())


def test_keystile_toml_declares_clients_once(server, tmp_path):
    project = make_project(server)
    path = tmp_path / "keystile.toml"
    path.write_text(
        f"""
[[projects]]
project_id = "{project.project_id}"
secret = "{project.secret}"

[projects.oauth.github]
client_id = "Iv1.0123456789"
client_secret = "github-secret"
emails_url = ""

[projects.oauth.google]
client_id = "cid.apps.googleusercontent.com"
client_secret = "google-secret"
"""
    )
    assert sorted(_apply(server, path)) == [
        f"{project.project_id}: OAuth client for github set",
        f"{project.project_id}: OAuth client for google set",
    ]
    assert _apply(server, path) == []  # the database already holds it

    async def stored() -> list[dict]:
        async with server.state.transaction() as conn:
            return await registrations.listed(conn, project.project_id)

    clients = {c["provider"]: c for c in server.run(stored())}
    assert clients["github"]["settings"] == {"emails_url": ""}
    assert "secret" not in json.dumps(clients)

    path.write_text(path.read_text().replace("[projects.oauth.google]", "[projects.oauth.myspace]"))
    with pytest.raises(ValueError, match="no OAuth provider 'myspace'"):
        _apply(server, path)
    path.write_text(path.read_text().replace('emails_url = ""', 'email_url = ""'))
    with pytest.raises(ConfigFileError, match="email_url"):
        load_file_config(path)
