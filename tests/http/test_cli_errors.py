"""Every command fails the way a person can act on: one or two lines naming what is wrong
and what to do, a non-zero exit code, and a traceback only when asked for (`--debug`,
KEYSTILE_LOG_LEVEL=debug). Run in this process where the point is the command's words;
as a process of its own where the point is the process (its exit code, a port it holds)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import stytch
from stytch.core.response_base import StytchError

from keystile.app import _announce
from keystile.config import ProjectConfig, Settings
from tests.support import POSTGRES_ADMIN_URL, free_port, keystile_in_process, postgres_reachable

KEYSTILE = [sys.executable, "-m", "keystile"]
DATABASE_COMMANDS = [
    ["migrate"],
    ["projects", "list"],
    ["projects", "create", "--name", "x"],
    ["redirect-urls", "list", "--project", "project-test-x"],
    ["keys", "list", "--project", "project-test-x"],
    ["outbox", "list"],
    ["rbac", "show", "--project", "project-test-x"],
]


def closed_postgres_url() -> str:
    """A PostgreSQL URL on a port where nothing listens."""
    return f"postgresql://postgres@127.0.0.1:{free_port()}/keystile"


def assert_short_failure(done: subprocess.CompletedProcess[str], first_line_starts: str) -> list[str]:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert 1 <= len(lines) <= 2, done.stderr
    assert lines[0].startswith(first_line_starts), done.stderr
    assert "Traceback" not in done.stderr
    return lines


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_database_that_is_not_there_is_named_in_two_lines(command, tmp_path):
    url = closed_postgres_url()
    done = keystile_in_process({"KEYSTILE_DATABASE_URL": url, "KEYSTILE_DATA_DIR": str(tmp_path)}, *command)
    lines = assert_short_failure(done, "Cannot reach the database (ConnectionRefusedError")
    assert url in lines[1] and "KEYSTILE_DATABASE_URL" in lines[1]


@pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL is not reachable on 127.0.0.1:5432")
@pytest.mark.parametrize("command", [["migrate"], ["projects", "list"]], ids=lambda c: " ".join(c))
def test_a_database_that_does_not_exist_says_so_and_how_to_create_it(command, tmp_path):
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/keystile_no_such_database"
    done = keystile_in_process({"KEYSTILE_DATABASE_URL": url, "KEYSTILE_DATA_DIR": str(tmp_path)}, *command)
    lines = assert_short_failure(done, "Cannot use postgresql://")
    assert 'database "keystile_no_such_database" does not exist' in lines[0]
    assert "createdb keystile_no_such_database" in lines[1]


def test_a_password_in_the_database_url_is_not_printed(tmp_path):
    url = f"postgresql://keystile:hunter2-secret@127.0.0.1:{free_port()}/keystile"
    done = keystile_in_process({"KEYSTILE_DATABASE_URL": url}, "projects", "list")
    assert done.returncode == 2 and "hunter2-secret" not in done.stderr and "***" in done.stderr


def test_a_database_keystile_cannot_speak_is_named(tmp_path):
    done = keystile_in_process({"KEYSTILE_DATABASE_URL": "mysql://db/keystile"}, "projects", "list")
    lines = assert_short_failure(done, "KEYSTILE_DATABASE_URL names a database keystile cannot use")
    assert "postgresql://" in lines[1] and "sqlite:///" in lines[1]


def test_an_invalid_setting_names_the_variable(tmp_path):
    done = keystile_in_process({"KEYSTILE_PORT": "eighty", "KEYSTILE_DATA_DIR": str(tmp_path)}, "projects", "list")
    assert_short_failure(done, "Invalid setting: KEYSTILE_PORT='eighty'")


def test_debug_log_level_keeps_the_traceback(tmp_path):
    settings = {"KEYSTILE_DATABASE_URL": closed_postgres_url(), "KEYSTILE_LOG_LEVEL": "debug"}
    with pytest.raises(ConnectionRefusedError):
        keystile_in_process(settings, "projects", "list")


def test_debug_option_prints_the_traceback_from_a_process_of_its_own(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTILE_")}
    env["KEYSTILE_DATABASE_URL"] = closed_postgres_url()
    plain = subprocess.run([*KEYSTILE, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 2 and len(plain.stderr.strip().splitlines()) == 2, plain.stderr
    for args in (["--debug", "migrate"], ["migrate", "--debug"]):
        debug = subprocess.run([*KEYSTILE, *args], env=env, capture_output=True, text=True, timeout=60)
        assert debug.returncode == 1
        assert "Traceback (most recent call last)" in debug.stderr
        assert debug.stderr.strip().splitlines()[-1].startswith("ConnectionRefusedError")


# --- keystile.toml -----------------------------------------------------------------------

GOOD_PROJECT = """[[projects]]
project_id = "project-test-00000000-0000-0000-0000-000000000001"
secret = "secret-test-fixed-for-ci-0123"
"""


def serve_with_config(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """`keystile serve --config keystile.toml`: a refused file stops it before it starts anything."""
    config = tmp_path / "keystile.toml"
    config.write_text(text)
    port = str(free_port())
    return keystile_in_process(
        {"KEYSTILE_DATA_DIR": str(tmp_path / "data"), "KEYSTILE_PORT": port}, "serve", "--config", str(config)
    )


class TestConfigFile:
    def test_malformed_toml_names_the_file_and_line(self, tmp_path):
        done = serve_with_config(tmp_path, '[[projects]]\nproject_id = "project-test-1"\nsecret "x"\n')
        lines = assert_short_failure(done, f"{tmp_path / 'keystile.toml'} line 3: Expected '=' after a key")
        assert "TOMLDecodeError" not in done.stderr and len(lines) == 1

    def test_an_unknown_key_names_the_allowed_keys(self, tmp_path):
        done = serve_with_config(tmp_path, GOOD_PROJECT + 'secrets = ["another"]\n')
        (line,) = assert_short_failure(done, f"{tmp_path / 'keystile.toml'} line 4: unknown key 'secrets'")
        assert f"allowed keys: {', '.join(ProjectConfig.model_fields)}" in line
        assert "allowed keys: project_id, secret, name, live, public_token, redirect_urls" in line
        assert "extra_forbidden" not in done.stderr

    def test_an_unknown_redirect_type_names_the_allowed_types(self, tmp_path):
        text = GOOD_PROJECT + '\n[[projects.redirect_urls]]\nurl = "http://localhost:3000/a"\ntypes = ["sign_up"]\n'
        (line,) = assert_short_failure(serve_with_config(tmp_path, text), f"{tmp_path / 'keystile.toml'} line 7:")
        assert "'sign_up' is not a redirect type; allowed: login, signup, invite, discovery, reset_password" in line

    def test_a_project_id_the_sdks_would_not_read_is_refused(self, tmp_path):
        done = serve_with_config(tmp_path, '[[projects]]\nproject_id = "myproj"\nsecret = "short"\n')
        first, second = assert_short_failure(done, f"{tmp_path / 'keystile.toml'} line 2: projects[0].project_id")
        assert "'myproj' is not a Stytch project id: use project-test-<id> or project-live-<id>" in first
        assert second.startswith(f"{tmp_path / 'keystile.toml'} line 3: projects[0].secret: the secret is 5 characters")

    def test_a_live_id_on_a_test_project_is_refused(self, tmp_path):
        text = '[[projects]]\nproject_id = "project-live-abc"\nsecret = "secret-live-0123456789abcdefghij"\n'
        (line,) = assert_short_failure(serve_with_config(tmp_path, text), f"{tmp_path / 'keystile.toml'} line 1:")
        assert "is a live id but live = false" in line

    def test_a_test_secret_on_a_live_project_is_refused(self, tmp_path):
        text = (
            '[[projects]]\nproject_id = "project-live-abc"\nlive = true\nsecret = "secret-test-0123456789abcdefghij"\n'
        )
        (line,) = assert_short_failure(serve_with_config(tmp_path, text), f"{tmp_path / 'keystile.toml'} line 1:")
        assert "a live project with a test secret (secret-test-…)" in line

    def test_a_missing_file_is_named(self, tmp_path):
        done = keystile_in_process({}, "serve", "--config", str(tmp_path / "nope.toml"))
        assert_short_failure(done, f"No such config file: {tmp_path / 'nope.toml'}")


# --- serve ---------------------------------------------------------------------------------


def test_serve_on_a_port_in_use_says_so_before_listening(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTILE_")}
    env["KEYSTILE_DATA_DIR"] = str(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env["KEYSTILE_PORT"] = str(port)
        done = subprocess.run([*KEYSTILE, "serve"], env=env, capture_output=True, text=True, timeout=60)
        given = subprocess.run(
            [*KEYSTILE, "serve", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"port {port} is in use; pass --port or set KEYSTILE_PORT"]
    assert "listening" not in done.stdout + done.stderr
    assert given.returncode == 2 and given.stderr.strip() == f"port {port} is in use; pass another --port"
    assert not (tmp_path / "keystile.db").exists()  # refused before touching the database


# --- the command line ----------------------------------------------------------------------


def test_version():
    done = keystile_in_process({}, "--version")
    assert done.returncode == 0 and done.stdout.strip() == "keystile 0.1.0"


def test_help_shows_flags_without_a_type_and_arguments_in_capitals():
    done = keystile_in_process({"COLUMNS": "100"}, "redirect-urls", "add", "--help")
    assert done.returncode == 0
    assert "redirect-urls add [OPTIONS] URL" in done.stdout
    assert "<bool>" not in done.stdout and "{url}" not in done.stdout
    assert "<bool>" not in keystile_in_process({}, "--help").stdout


def test_projects_list_never_cuts_an_id_at_80_columns(tmp_path):
    settings = {"KEYSTILE_DATA_DIR": str(tmp_path), "COLUMNS": "80"}
    made = keystile_in_process(settings, "projects", "create", "--name", "a project with a long name", "--json")
    project = json.loads(made.stdout)
    done = keystile_in_process(settings, "projects", "list")
    assert done.returncode == 0
    assert project["project_id"] in done.stdout
    assert "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    assert "public_token" in done.stderr and "left out at this width" in done.stderr
    wide = keystile_in_process({**settings, "COLUMNS": "200"}, "projects", "list")
    assert project["public_token"] in wide.stdout and "a project with a long name" in wide.stdout


class TestRotateSecret:
    def test_rotation_keeps_old_secrets_until_revoked(self, server):
        settings = {
            "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
            "KEYSTILE_DATABASE_URL": server.settings.database_url,
        }
        cli = lambda *args: keystile_in_process(settings, *args)  # noqa: E731
        gentle = json.loads(cli("projects", "create", "--name", "gentle", "--json").stdout)
        leaked = json.loads(cli("projects", "create", "--name", "leaked", "--json").stdout)
        gentle_new = cli("projects", "rotate-secret", "--project", gentle["project_id"], "--json")
        assert gentle_new.returncode == 0, gentle_new.stderr
        gentle_new = json.loads(gentle_new.stdout)
        assert gentle_new["secret"].startswith("secret-test-") and gentle_new["revoked"] == 0
        leaked_new = json.loads(
            cli("projects", "rotate-secret", "--project", leaked["project_id"], "--revoke-others", "--json").stdout
        )
        assert leaked_new["revoked"] == 1

        def works(project_id: str, secret: str) -> bool:
            client = stytch.B2BClient(project_id, secret, environment=server.base_url)
            try:
                client.organizations.search()
            except StytchError as exc:
                assert exc.details.error_type == "unauthorized_credentials"
                return False
            return True

        assert works(gentle["project_id"], gentle["secret"]) and works(gentle["project_id"], gentle_new["secret"])
        assert works(leaked["project_id"], leaked_new["secret"])
        assert not works(leaked["project_id"], leaked["secret"])

        # The last step of a gentle rotation: only the newest secret is left. (A project of its
        # own: a secret used in the last second is still cached by the running server.)
        tidy = json.loads(cli("projects", "create", "--name", "tidy", "--json").stdout)
        middle = json.loads(cli("projects", "rotate-secret", "--project", tidy["project_id"], "--json").stdout)
        newest = json.loads(cli("projects", "rotate-secret", "--project", tidy["project_id"], "--json").stdout)
        revoked = cli("projects", "revoke-old-secrets", "--project", tidy["project_id"])
        assert revoked.returncode == 0 and "removed 2 older secret(s)" in revoked.stderr
        assert works(tidy["project_id"], newest["secret"])
        assert not works(tidy["project_id"], tidy["secret"]) and not works(tidy["project_id"], middle["secret"])

    def test_an_unknown_project_is_named(self, tmp_path):
        done = keystile_in_process(
            {"KEYSTILE_DATA_DIR": str(tmp_path)}, "projects", "rotate-secret", "--project", "project-test-nope"
        )
        assert done.returncode == 2 and done.stderr.strip() == "No project project-test-nope"


def test_the_start_up_banner_lines_up_its_values(capsys):
    created = SimpleNamespace(project_id="project-test-1", secret="secret-test-2", public_token="public-token-test-3")
    _announce(Settings(port=4010), created)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    values = [
        "project-test-1",
        "secret-test-2",
        "public-token-test-3",
        "http://127.0.0.1:4010/",
        "http://localhost:3000/authenticate",
    ]
    assert len(lines) == len(values), lines
    assert len({line.index(value) for line, value in zip(lines, values, strict=True)}) == 1, lines
