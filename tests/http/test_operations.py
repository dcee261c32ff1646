"""Running keystile in production: migrations, workers, readiness, the master key,
signing key listing and graceful shutdown — through the `keystile` command itself."""

from __future__ import annotations

import json
import signal
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from alembic import command
from starlette.testclient import TestClient

from keystile.app import create_app
from keystile.config import Settings, async_url
from keystile.core import migrate
from tests.support import (
    Serve,
    free_port,
    fresh_postgres_url,
    keystile_env,
    postgres_reachable,
    run_keystile,
)

MASTER_KEY = "k" * 43

needs_postgres = pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL is not reachable")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "keystile-data"


@pytest.fixture
def pg_url() -> str:
    if not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable")
    return fresh_postgres_url(f"keystile_ops_{uuid.uuid4().hex[:10]}")


class TestMigrations:
    @needs_postgres
    def test_serve_refuses_a_postgres_database_that_is_behind(self, data_dir, pg_url):
        migrate.upgrade(async_url(pg_url), "0001")
        done = run_keystile(keystile_env(data_dir, KEYSTILE_DATABASE_URL=pg_url), "serve", "--port", str(free_port()))
        assert done.returncode == 2
        assert "keystile migrate" in done.stderr and "0001" in done.stderr

    @needs_postgres
    def test_serve_refuses_an_empty_postgres_database(self, data_dir, pg_url):
        done = run_keystile(keystile_env(data_dir, KEYSTILE_DATABASE_URL=pg_url), "serve", "--port", str(free_port()))
        assert done.returncode == 2
        assert "keystile migrate" in done.stderr

    @needs_postgres
    def test_migrate_brings_the_database_current_and_serve_starts(self, data_dir, pg_url):
        env = keystile_env(data_dir, KEYSTILE_DATABASE_URL=pg_url)
        migrated = run_keystile(env, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        server = Serve(env)
        try:
            assert requests.get(f"{server.base_url}readyz", timeout=10).status_code == 200
        finally:
            assert server.stop() == 0

    def test_sqlite_in_dev_mode_is_migrated_at_start(self, data_dir):
        server = Serve(keystile_env(data_dir))
        try:
            assert requests.get(f"{server.base_url}readyz", timeout=10).json()["schema"] == migrate.head_revision()
        finally:
            server.stop()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_models_and_migrations_agree(database, tmp_path):
    """`alembic check`: no model change lacks a migration."""
    if database == "postgres":
        if not postgres_reachable():
            pytest.skip("PostgreSQL is not reachable")
        url = async_url(fresh_postgres_url(f"keystile_check_{uuid.uuid4().hex[:10]}"))
    else:
        url = async_url(f"sqlite:///{tmp_path / 'check.db'}")
    migrate.upgrade(url)
    command.check(migrate.alembic_config(url))


class TestWorkers:
    def test_two_workers_serve_one_port(self, data_dir, pg_url):
        env = keystile_env(data_dir, KEYSTILE_DATABASE_URL=pg_url)
        assert run_keystile(env, "migrate").returncode == 0
        project = json.loads(run_keystile(env, "projects", "create", "--name", "ops", "--json").stdout)
        server = Serve(env, "--workers", "2")
        request_ids = []
        try:
            for _ in range(10):
                resp = requests.post(
                    f"{server.base_url}v1/b2b/organizations/search",
                    json={},
                    auth=(project["project_id"], project["secret"]),
                    timeout=10,
                    headers={"Connection": "close"},  # a new connection each time: either worker
                )
                assert resp.status_code == 200
                request_ids.append(resp.json()["request_id"])
        finally:
            assert server.stop() == 0
        # Access lines are written out in batches; a worker's last batch still reaches
        # the log when it shuts down.
        logged = {
            line["request_id"]
            for line in map(json.loads, (raw for raw in server.output.splitlines() if raw.startswith("{")))
            if line.get("logger") == "keystile.access"
        }
        assert set(request_ids) <= logged

    def test_metrics_add_up_across_workers(self, data_dir):
        server = Serve(keystile_env(data_dir), "--workers", "2")
        try:
            assert server.wait_for("Application startup complete", count=2)
            for _ in range(20):
                # A new connection each time, so the requests spread over the workers.
                assert requests.get(f"{server.base_url}healthz", timeout=10, headers={"Connection": "close"}).ok
            text = requests.get(f"{server.base_url}metrics", timeout=10).text
            line = next(
                line
                for line in text.splitlines()
                if line.startswith("keystile_http_requests_total{") and 'route="/healthz"' in line
            )
            assert float(line.rsplit(" ", 1)[1]) == 20
        finally:
            server.stop()


class TestReadiness:
    def test_ready_when_the_schema_is_current(self, server):
        resp = requests.get(f"{server.base_url}readyz", timeout=10)
        assert resp.status_code == 200
        assert resp.json() == {"status": "ready", "database": "ok", "schema": migrate.head_revision()}

    def test_not_ready_when_the_schema_is_behind(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'behind.db'}"
        migrate.upgrade(async_url(url), "0001")
        app = create_app(Settings(data_dir=tmp_path, database_url=url))
        resp = TestClient(app).get("/readyz")  # no lifespan: start-up would refuse this database
        assert resp.status_code == 503
        assert resp.json()["schema"] == "behind" and "keystile migrate" in resp.json()["message"]

    def test_not_ready_when_the_database_is_unreachable(self, tmp_path):
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        app = create_app(Settings(data_dir=tmp_path, database_url=f"postgresql://nobody@127.0.0.1:{port}/none"))
        resp = TestClient(app).get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["database"] == "unreachable"

    def test_a_schema_ahead_of_this_keystile_is_ready(self, tmp_path):
        """A rolling upgrade: a newer keystile migrated; the old nodes keep serving."""
        import sqlite3

        path = tmp_path / "ahead.db"
        migrate.upgrade(async_url(f"sqlite:///{path}"))
        with sqlite3.connect(path) as db:
            db.execute("UPDATE alembic_version SET version_num = '9999'")
        app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{path}"))
        resp = TestClient(app).get("/readyz")
        assert resp.status_code == 200 and resp.json()["schema"] == "ahead"

    def test_healthz_needs_nothing_but_the_process(self, tmp_path):
        app = create_app(Settings(data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none"))
        assert TestClient(app).get("/healthz").status_code == 200


class TestMasterKey:
    def test_production_without_a_master_key_refuses_to_start(self, data_dir):
        env = keystile_env(data_dir, KEYSTILE_ENV="production")
        done = run_keystile(env, "serve", "--port", str(free_port()))
        assert done.returncode == 2
        assert "KEYSTILE_MASTER_KEY is not set" in done.stderr and "generate-master-key" in done.stderr
        assert not (data_dir / "master.key").exists()

    def test_production_refuses_a_short_master_key(self, data_dir):
        env = keystile_env(data_dir, KEYSTILE_ENV="production", KEYSTILE_MASTER_KEY="short")
        done = run_keystile(env, "serve", "--port", str(free_port()))
        assert done.returncode == 2 and "shorter than" in done.stderr

    def test_dev_mode_keeps_a_key_file(self, data_dir):
        assert run_keystile(keystile_env(data_dir), "projects", "create", "--name", "dev").returncode == 0
        assert (data_dir / "master.key").stat().st_mode & 0o777 == 0o600

    def test_a_master_key_that_does_not_decrypt_the_keys_refuses_to_start(self, data_dir):
        env = keystile_env(data_dir, KEYSTILE_MASTER_KEY=MASTER_KEY)
        assert run_keystile(env, "projects", "create", "--name", "ops").returncode == 0
        done = run_keystile({**env, "KEYSTILE_MASTER_KEY": "x" * 43}, "serve", "--port", str(free_port()))
        assert done.returncode == 2 and "does not decrypt" in done.stderr

    def test_generate_master_key_prints_a_fresh_random_key(self, data_dir):
        first = run_keystile(keystile_env(data_dir), "keys", "generate-master-key").stdout.strip()
        second = run_keystile(keystile_env(data_dir), "keys", "generate-master-key").stdout.strip()
        assert len(first) >= 32 and first != second


class TestKeysList:
    def test_lists_the_next_and_the_signing_key_after_a_rotation(self, data_dir):
        env = keystile_env(data_dir)
        project = json.loads(run_keystile(env, "projects", "create", "--name", "ops", "--json").stdout)
        rotated = json.loads(run_keystile(env, "keys", "rotate", "--project", project["project_id"], "--json").stdout)
        listed = json.loads(run_keystile(env, "keys", "list", "--project", project["project_id"], "--json").stdout)
        assert (listed[0]["kid"], listed[0]["state"]) == (rotated["kid"], "next")
        assert listed[1]["state"] == "signing" and listed[1]["retired_at"] == rotated["signs_from"]

    def test_a_key_rotated_out_now_is_listed_as_retired(self, data_dir):
        env = keystile_env(data_dir)
        project = json.loads(run_keystile(env, "projects", "create", "--name", "ops", "--json").stdout)
        run_keystile(env, "keys", "rotate", "--project", project["project_id"], "--now")
        listed = json.loads(run_keystile(env, "keys", "list", "--project", project["project_id"], "--json").stdout)
        assert [k["state"] for k in listed] == ["signing", "retired"]

    def test_an_unknown_project_fails_clearly(self, data_dir):
        done = run_keystile(keystile_env(data_dir), "keys", "list", "--project", "project-test-nope")
        assert done.returncode == 2 and "project-test-nope" in done.stderr


def _start_request(port: int, project: dict[str, Any], body: bytes) -> socket.socket:
    """Send a request's headers and half its body: it is in flight until the rest arrives."""
    import base64

    auth = base64.b64encode(f"{project['project_id']}:{project['secret']}".encode()).decode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        (
            "POST /v1/b2b/organizations/search HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body[: len(body) // 2]
    )
    return sock


def _finish_request(sock: socket.socket, body: bytes) -> int:
    sock.sendall(body[len(body) // 2 :])
    response = b""
    while b"\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            break
        response += chunk
    sock.close()
    return int(response.split(b" ", 2)[1])


class TestGracefulShutdown:
    def test_in_flight_requests_complete_and_the_process_exits_cleanly(self, data_dir):
        env = keystile_env(data_dir, KEYSTILE_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
        project = json.loads(run_keystile(env, "projects", "create", "--name", "ops", "--json").stdout)
        server = Serve(env)
        body = json.dumps({"limit": 10}).encode()
        in_flight = [_start_request(server.port, project, body) for _ in range(3)]
        # The requests are in flight once the server reads them; /healthz answering after them proves it.
        assert requests.get(f"{server.base_url}healthz", timeout=10).ok
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_for("Waiting for connections to close")
        assert [_finish_request(sock, body) for sock in in_flight] == [200, 200, 200]
        assert server.proc.wait(timeout=60) == 0
        assert "Traceback" not in server.output

    def test_new_connections_are_refused_once_shutting_down(self, data_dir):
        env = keystile_env(data_dir)
        project = json.loads(run_keystile(env, "projects", "create", "--name", "ops", "--json").stdout)
        server = Serve(env)
        body = b"{}"
        held = _start_request(server.port, project, body)
        assert requests.get(f"{server.base_url}healthz", timeout=10).ok
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_for("Waiting for connections to close")
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.base_url}healthz", timeout=10)
        assert _finish_request(held, body) == 200
        assert server.proc.wait(timeout=60) == 0
