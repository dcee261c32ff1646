"""Test support: a real keystile server in a thread, the dev inbox, and an async bridge
that lets one test body drive the SDK's sync and `_async` methods alike."""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import uvicorn
from typer.testing import CliRunner

from keystile.app import create_app
from keystile.cli import app as keystile_cli
from keystile.config import Settings
from keystile.core.clock import Clock

POSTGRES_ADMIN_URL = os.environ.get("KEYSTILE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_reachable() -> bool:
    parts = urlsplit(POSTGRES_ADMIN_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1):
            return True
    except OSError:
        return False


async def _recreate_database(name: str) -> str:
    """A fresh, empty database for one test run; returns its URL."""
    import asyncpg

    admin = await asyncpg.connect(POSTGRES_ADMIN_URL.replace("postgresql://", "postgres://"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(POSTGRES_ADMIN_URL)
    return parts._replace(path=f"/{name}").geturl()


def fresh_postgres_url(name: str) -> str:
    return asyncio.run(_recreate_database(name))


class LoopThread:
    """An event loop running in its own thread; coroutines are submitted from tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Server:
    """A running keystile: its base URL, settings, clock and the loop it serves on."""

    settings: Settings
    clock: Clock
    app: Any
    server: uvicorn.Server
    thread: threading.Thread
    backend: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}/"

    @property
    def state(self) -> Any:
        return self.app.state.keystile

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the server's own loop (its engine is bound to it)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def start_server(backend: str, data_dir: Path, database_url: str | None, **overrides: Any) -> Server:
    settings = Settings(
        env="dev",
        data_dir=data_dir,
        database_url=database_url,
        port=free_port(),
        auto_migrate=True,
        **overrides,
    )
    clock = Clock()
    app = create_app(settings, clock=clock)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    holder: dict[str, asyncio.AbstractEventLoop] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve())

    thread = threading.Thread(target=serve, daemon=True, name=f"keystile-{backend}")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("keystile did not start")
        time.sleep(0.02)
    running = Server(settings, clock, app, server, thread, backend)
    running._loop = holder["loop"]  # type: ignore[attr-defined]
    return running


class Inbox:
    """The dev inbox, read over HTTP the way a developer's test would."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def messages(self, to: str) -> list[dict[str, Any]]:
        resp = requests.get(f"{self.base_url}dev/inbox/messages", params={"to": to}, timeout=10)
        resp.raise_for_status()
        return resp.json()["messages"]

    def latest(self, to: str) -> dict[str, Any]:
        messages = self.messages(to)
        assert messages, f"no email to {to}"
        return messages[0]

    def latest_link(self, to: str) -> str:
        return self.latest(to)["links"][0]

    def latest_token(self, to: str) -> str:
        return link_params(self.latest_link(to))["token"]


def keystile_in_process(settings: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`keystile …` with these KEYSTILE_ settings and no others, run in this process
    (typer's CliRunner): the command opens its own engine, keyring and transaction, as it
    does in a process of its own, without a new interpreter's start."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KEYSTILE_")}
    env.update(settings)
    done = CliRunner().invoke(keystile_cli, list(args), env=env, catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), done.exit_code, done.stdout, done.stderr)


def link_params(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


class AsyncBridge:
    """Wraps an SDK client so that `client.a.b.method(**kw)` runs `method_async(**kw)` on a
    background loop: one test body covers the sync and the async SDK alike."""

    def __init__(self, target: Any, loop: LoopThread) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value) and hasattr(self._target, f"{name}_async"):
            method = getattr(self._target, f"{name}_async")
            return lambda *args, **kwargs: self._loop.run(method(*args, **kwargs))
        if callable(value) or isinstance(value, (str, int, float, bool, type(None), dict, list)):
            return value
        return AsyncBridge(value, self._loop)


# The modules and classes whose tests run whole keystile clusters (tests/http/test_multiprocess.py
# Cluster): under pytest-xdist, one unit of work named CLUSTERS, handed out first (conftest.py).
CLUSTERS = "clusters"
CLUSTER_SCOPES = frozenset(
    {
        "tests/http/test_multiprocess.py::TestThreeWorkers",
        "tests/sdk/test_outbox_delivery.py::TestThreeWorkersDeliverOnce",
        "tests/sdk/test_outbox_delivery.py::TestWorkerKilledMidDelivery",
        "tests/sdk/test_outbox_delivery.py::TestWorkerKilledBeforeTheServerHasTheMessage",
    }
)


class MachineLock:
    """One holder at a time across every pytest process on this machine (pytest-xdist
    workers included): for tests that run whole keystile clusters, which together would
    need more PostgreSQL connections and CPU than the machine has."""

    def __init__(self, name: str) -> None:
        self.path = Path(tempfile.gettempdir()) / f"keystile-tests-{name}.lock"
        self._file: Any = None

    def acquire(self) -> None:
        self._file = self.path.open("w")
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
