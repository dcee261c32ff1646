"""keystile as it runs in production: `keystile serve --workers 3` on PostgreSQL and Redis,
email by SMTP to a real SMTP server (aiosmtpd on loopback). The B2B discovery flow runs 200
times at once: no error, one email per flow, and every session valid in every process.

`Cluster` and `SMTPSink` also serve tests/sdk/test_outbox_delivery.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import requests
import stytch
from aiosmtpd.controller import Controller

from tests.support import (
    KEYSTILE,
    REDIRECT_URL,
    MachineLock,
    free_port,
    fresh_postgres_url,
    keystile_in_process,
    link_params,
    require_postgres,
    require_redis,
)

FLOWS = 200


@dataclass
class Mail:
    message_id: str
    to: list[str]
    text: str


class SMTPSink:
    """An SMTP server on loopback that keeps every message it accepts.

    `on_message(mail)`, when set, runs inside the server before it answers 250, so a test
    can act while the sender is still waiting for the answer.
    """

    def __init__(self) -> None:
        self.received: list[Mail] = []
        self.on_message: Callable[[Mail], Awaitable[None]] | None = None
        self._arrived = threading.Condition()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        mail = Mail(str(parsed["Message-ID"]), list(envelope.rcpt_tos), body.get_content() if body else "")
        if self.on_message is not None:
            await self.on_message(mail)
        with self._arrived:
            self.received.append(mail)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_until(self, condition: Callable[[list[Mail]], bool], timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: condition(self.received), timeout)

    def wait_for(self, address: str, timeout: float = 30) -> Mail:
        assert self.wait_until(lambda got: any(address in m.to for m in got), timeout), f"no email to {address}"
        with self._arrived:
            return next(m for m in self.received if address in m.to)

    def message_ids(self) -> Counter[str]:
        with self._arrived:
            return Counter(m.message_id for m in self.received)

    def __enter__(self) -> SMTPSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()


CLUSTER_PROCESS_CONNECTIONS = 12


class Cluster:
    """`keystile serve --workers N` as a subprocess, on a fresh PostgreSQL database. One
    cluster runs at a time on the machine (from creation to `stop()`), whichever pytest
    worker runs it."""

    def __init__(self, name: str, data_dir: Path, smtp_url: str, *, redis_url: str | None = None, **settings: str):
        require_postgres()
        self.lock = MachineLock("cluster")
        self.lock.acquire()
        self.database_url = fresh_postgres_url(f"keystile_{name}_{os.getpid()}")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTILE_")}
        self.env.update(
            KEYSTILE_DATA_DIR=str(data_dir),
            KEYSTILE_DATABASE_URL=self.database_url,
            KEYSTILE_SMTP_URL=smtp_url,
            KEYSTILE_MASTER_KEY=secrets.token_urlsafe(48),
            KEYSTILE_AUTO_MIGRATE="true",
            # The suite shares one PostgreSQL (100 connections by default) between its
            # pytest workers: a process of a cluster holds at most this many.
            KEYSTILE_DATABASE_CONNECTIONS=str(CLUSTER_PROCESS_CONNECTIONS),
        )
        if redis_url:
            self.env["KEYSTILE_REDIS_URL"] = redis_url
        self.env.update({f"KEYSTILE_{k.upper()}": v for k, v in settings.items()})
        self.processes: list[subprocess.Popen[str]] = []
        self.log = data_dir / "serve.log"

    def create_project(self) -> dict[str, str]:
        """A project with the default redirect URL, made by the `keystile` command run in
        this process (tests/sdk/test_key_rotation.py and tests/http/test_cli.py run it as
        a process of its own)."""
        settings = {k: v for k, v in self.env.items() if k.startswith("KEYSTILE_")}
        name = f"cluster-{uuid.uuid4().hex[:6]}"
        created = keystile_in_process(settings, "projects", "create", "--name", name, "--json")
        assert created.returncode == 0, created.stderr
        project = json.loads(created.stdout)
        added = keystile_in_process(
            settings, "redirect-urls", "add", REDIRECT_URL, "--project", project["project_id"], "--default"
        )
        assert added.returncode == 0, added.stderr
        return project

    def serve(self, workers: int) -> str:
        """Start `keystile serve` and return its base URL once it answers."""
        port = free_port()
        with self.log.open("a") as log:
            proc = subprocess.Popen(
                [*KEYSTILE, "serve", "--workers", str(workers), "--port", str(port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        self.processes.append(proc)
        base_url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"keystile serve exited:\n{self.log.read_text()}")
            try:
                if requests.get(f"{base_url}healthz", timeout=1).ok and (
                    workers == 1 or len(self.workers(proc)) >= workers
                ):
                    return base_url
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"keystile serve did not start:\n{self.log.read_text()}")

    @staticmethod
    def workers(proc: subprocess.Popen[str]) -> list[int]:
        """The process ids of the serving workers (children of `keystile serve`)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == proc.pid and b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(entry.name))
        return found

    def query(self, sql: str, *args: Any) -> list[Any]:
        return asyncio.run(self.aquery(sql, *args))

    async def aquery(self, sql: str, *args: Any) -> list[Any]:
        import asyncpg

        conn = await asyncpg.connect(self.database_url.replace("postgresql://", "postgres://"))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    def stop(self) -> None:
        try:
            for proc in self.processes:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            for proc in self.processes:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
        finally:
            self.lock.release()


@pytest.fixture(scope="module")
def sink() -> Iterator[SMTPSink]:
    with SMTPSink() as running:
        yield running


@pytest.fixture(scope="module")
def cluster(sink: SMTPSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str, str]]:
    """Three workers behind one port, plus one more single process on the same database."""
    redis_url = require_redis()
    running = Cluster("multiprocess", tmp_path_factory.mktemp("keystile-cluster"), sink.url, redis_url=redis_url)
    try:
        workers = running.serve(3)
        other = running.serve(1)
        yield running, workers, other
    finally:
        running.stop()


@dataclass
class Flow:
    email: str
    session_token: str | None = None
    session_jwt: str | None = None
    error: str | None = None


def discovery_flow(base_url: str, project: dict[str, str], sink: SMTPSink) -> Flow:
    """Discovery email by SMTP → intermediate session → new organization and member session."""
    flow = Flow(f"flow-{uuid.uuid4().hex[:12]}@example.com")
    client = stytch.B2BClient(project["project_id"], project["secret"], environment=base_url)
    try:
        client.magic_links.email.discovery.send(email_address=flow.email)
        mail = sink.wait_for(flow.email)
        link = next(word for word in mail.text.split() if word.startswith(REDIRECT_URL))
        ist = client.magic_links.discovery.authenticate(
            discovery_magic_links_token=link_params(link)["token"]
        ).intermediate_session_token
        created = client.discovery.organizations.create(
            intermediate_session_token=ist, organization_name=f"Org {uuid.uuid4().hex[:8]}", session_duration_minutes=60
        )
        flow.session_token, flow.session_jwt = created.session_token, created.session_jwt
    except Exception as exc:  # reported all together by the test
        flow.error = f"{type(exc).__name__}: {exc}"
    return flow


@pytest.fixture(scope="module")
def flows(cluster: tuple[Cluster, str, str], sink: SMTPSink) -> tuple[list[Flow], dict[str, str]]:
    running, workers, _ = cluster
    project = running.create_project()
    with ThreadPoolExecutor(40) as pool:
        done = list(pool.map(lambda _: discovery_flow(workers, project, sink), range(FLOWS)))
    return done, project


def authenticate(base_url: str, project: dict[str, str], **credential: str) -> int:
    resp = requests.post(
        f"{base_url}v1/b2b/sessions/authenticate",
        json=credential,
        auth=(project["project_id"], project["secret"]),
        headers={"Connection": "close"},  # a new connection each time: any worker may answer
        timeout=30,
    )
    return resp.status_code


class TestThreeWorkers:
    def test_every_flow_succeeds(self, flows):
        done, _ = flows

        assert [f.error for f in done if f.error] == []

    def test_each_flow_got_exactly_one_email(self, flows, sink):
        done, _ = flows
        received = Counter(address for mail in sink.received for address in mail.to)

        assert {received[f.email] for f in done} == {1}

    def test_no_message_id_arrived_twice(self, flows, sink):
        assert [mid for mid, n in sink.message_ids().items() if n > 1] == []

    def test_every_session_token_is_valid_on_the_workers(self, flows, cluster):
        done, project = flows
        _, workers, _ = cluster
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda f: authenticate(workers, project, session_token=f.session_token), done))

        assert set(statuses) == {200}

    def test_every_session_jwt_is_valid_on_the_workers(self, flows, cluster):
        done, project = flows
        _, workers, _ = cluster
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda f: authenticate(workers, project, session_jwt=f.session_jwt), done))

        assert set(statuses) == {200}

    def test_every_session_is_valid_in_a_process_that_served_none_of_the_flows(self, flows, cluster):
        done, project = flows
        _, _, other = cluster
        with ThreadPoolExecutor(16) as pool:
            by_token = list(pool.map(lambda f: authenticate(other, project, session_token=f.session_token), done))
            by_jwt = list(pool.map(lambda f: authenticate(other, project, session_jwt=f.session_jwt), done))

        assert set(by_token) | set(by_jwt) == {200}

    def test_no_process_holds_more_connections_than_its_budget(self, flows, cluster):
        running, _, _ = cluster

        rows = running.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

        # 3 workers and 1 more process, each within KEYSTILE_DATABASE_CONNECTIONS
        assert 0 < rows[0]["n"] <= 4 * CLUSTER_PROCESS_CONNECTIONS

    def test_every_message_is_marked_sent(self, flows, cluster):
        running, _, _ = cluster

        rows = running.query("SELECT status, count(*) AS n FROM outbox GROUP BY status")

        assert {r["status"]: r["n"] for r in rows} == {"sent": FLOWS}
