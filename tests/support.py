"""Test machinery, one definition each: a real keystile server in a thread, fresh projects
on it, the dev inbox, plain-HTTP calls and Stytch's error envelope, and the databases and
Redis a test needs. (tests/flows.py holds the helpers that speak the API: fresh names, SDK
errors, login flows.)"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import uvicorn
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from keystile.app import create_app
from keystile.cli import app as keystile_cli
from keystile.config import Settings
from keystile.core.clock import Clock
from keystile.core.keys import new_signing_key
from keystile.core.redirect_urls import RedirectType
from keystile.projects import service as projects

POSTGRES_ADMIN_URL = os.environ.get("KEYSTILE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("KEYSTILE_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI") == "true"
REDIRECT_URL = "http://localhost:3000/authenticate"
KEYSTILE = [sys.executable, "-m", "keystile"]


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


def require_postgres() -> None:
    """A skip with the reason locally, a failure in CI, when PostgreSQL is down."""
    if not postgres_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; CI needs it")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")


def database_url(backend: str, data_dir: Path, name: str) -> str:
    """A database of its own for a server a test module starts: a fresh PostgreSQL database
    (named after this process and `name`) or a SQLite file in `data_dir`."""
    if backend == "postgres":
        require_postgres()
        return fresh_postgres_url(f"keystile_rl_{os.getpid()}_{name}")
    return f"sqlite:///{data_dir / 'keystile.db'}"


def redis_reachable() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def require_redis() -> str:
    """The Redis URL; a skip with the reason locally, a failure in CI, when it is down."""
    if not redis_reachable():
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI needs it")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


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


class KeyPool:
    """Signing keys for the test servers' projects, through the keyring's key source
    (`create_app(new_key=…)`): the first `size` keys are made as a server would make them,
    then they are dealt again in turn. A 2,048-bit key takes ~70 ms to make and a run makes
    thousands of projects; in turn, the `size` keys drawn one after another are distinct, so
    the projects (and rotations) of one test never share a key."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._keys: list[rsa.RSAPrivateKey] = []
        self._dealt = 0
        self._lock = threading.Lock()

    def __call__(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if len(self._keys) < self.size:
                self._keys.append(new_signing_key())
            key = self._keys[self._dealt % self.size]
            self._dealt += 1
            return key


# One pool per test process, shared by every server it starts.
KEY_POOL = KeyPool()


def start_server(backend: str, data_dir: Path, database_url: str | None, **overrides: Any) -> Server:
    # The identity providers and metadata servers the tests start listen on loopback, which
    # keystile's outbound requests refuse unless the operator allows it (core/outbound.py).
    overrides.setdefault("outbound_private_addresses", True)
    settings = Settings(
        env="dev",
        data_dir=data_dir,
        database_url=database_url,
        port=free_port(),
        auto_migrate=True,
        **overrides,
    )
    clock = Clock()
    app = create_app(settings, clock=clock, new_key=KEY_POOL)
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


def own_server(backend: str, tmp_path_factory: pytest.TempPathFactory, name: str, **overrides: Any) -> Iterator[Server]:
    """A keystile of a test module's own (a module fixture yields from it), with settings
    `overrides` the shared server does not have; `name` tells its data directory and
    PostgreSQL database apart."""
    data_dir: Path = tmp_path_factory.mktemp(f"keystile-{name}-{backend}")
    if backend == "postgres":
        require_postgres()
        url = fresh_postgres_url(f"keystile_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{data_dir / 'keystile.db'}"
    server = start_server(backend, data_dir, url, **overrides)
    yield server
    server.stop()


class ProjectInfo:
    def __init__(self, server: Server, created: Any) -> None:
        self.server = server
        self.project_id: str = created.project_id
        self.secret: str = created.secret
        self.public_token: str = created.public_token

    @property
    def auth(self) -> tuple[str, str]:
        return (self.project_id, self.secret)


def make_project(server: Server, *, redirect_urls: bool = True, live: bool = False) -> ProjectInfo:
    """A fresh project on `server` (its own secret and keys), with REDIRECT_URL as the
    default of every redirect type unless `redirect_urls` is false."""

    async def create() -> Any:
        state = server.state
        async with state.transaction() as conn:
            created = await projects.create_project(
                conn, state.keyring, state.clock.now(), name=f"test-{uuid.uuid4().hex[:8]}", live=live
            )
            if redirect_urls:
                await projects.add_redirect_url(
                    conn, state.clock.now(), created.project_id, REDIRECT_URL, list(RedirectType), default=True
                )
            return created

    return ProjectInfo(server, server.run(create()))


def allow_redirect(project: ProjectInfo, url: str, *types: RedirectType, default: bool = False) -> None:
    """Add a redirect URL to the project's allowlist for these types, on the server's own loop."""
    server = project.server

    async def add() -> None:
        async with server.state.transaction() as conn:
            await projects.add_redirect_url(
                conn, server.state.clock.now(), project.project_id, url, list(types), default=default
            )

    server.run(add())


def served_endpoints(app: Any, prefix: str = "/") -> list[tuple[str, str]]:
    """Every (method, path template) the app serves under `prefix`, thin routes included,
    read from its routers (HEAD, which Starlette adds to every GET, left out)."""

    def walk(routes: list[Any]) -> Iterator[tuple[str, str]]:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:
                yield from walk(included.routes)
            elif getattr(route, "methods", None) and route.path.startswith(prefix):
                for method in route.methods - {"HEAD"}:
                    yield method, route.path

    return sorted(set(walk(app.routes)), key=lambda endpoint: (endpoint[1], endpoint[0]))


# --- plain HTTP -----------------------------------------------------------------------------

ENVELOPE = {"status_code", "request_id", "error_type", "error_message", "error_url"}


def call(project: ProjectInfo, method: str, path: str, **kwargs: Any) -> requests.Response:
    """One request to the project's server with its Basic auth (pass `auth=` to override)."""
    kwargs.setdefault("auth", project.auth)
    kwargs.setdefault("timeout", 10)
    return requests.request(method, f"{project.server.base_url}{path.lstrip('/')}", **kwargs)


def assert_envelope(resp: requests.Response, status: int, error_type: str, *, live: bool = False) -> dict[str, Any]:
    """The response is Stytch's error envelope for `error_type`, whole; returns its body."""
    body = resp.json()
    assert resp.status_code == status, body
    assert body.keys() >= ENVELOPE
    assert body["status_code"] == status
    assert body["error_type"] == error_type
    assert body["error_message"]
    assert body["request_id"].startswith("request-id-live-" if live else "request-id-test-")
    assert body["error_url"].endswith(f"#{error_type}")
    assert "error" not in body  # the Node SDK would read it as an OAuth error
    return body


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

    def latest_emailed_link(self, to: str) -> str:
        """The link as the email carries it: keystile's redirect page unless the project turned it off."""
        return self.latest(to)["links"][0]

    def latest_link(self, to: str) -> str:
        """The app's URL the latest email leads to, past keystile's redirect page (`through_redirect_page`)."""
        return through_redirect_page(self.latest_emailed_link(to))

    def latest_token(self, to: str) -> str:
        """The latest email's token: the `token` of the emailed link, the one the app receives."""
        return link_params(self.latest_emailed_link(to))["token"]


def keystile_in_process(settings: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`keystile …` with these KEYSTILE_ settings and no others, run in this process
    (typer's CliRunner): the command opens its own engine, keyring and transaction, as it
    does in a process of its own, without a new interpreter's start."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KEYSTILE_")}
    env.update(settings)
    done = CliRunner().invoke(keystile_cli, list(args), env=env, catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), done.exit_code, done.stdout, done.stderr)


# What a person's browser sends when they click a button of a page (Fetch Metadata).
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Sec-Fetch-Site": "same-origin",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-User": "?1",
}
REDIRECT_PATH = "/v1/magic_links/redirect"


def redirect_page_form(html: str) -> dict[str, str]:
    """The hidden fields of keystile's redirect page's form."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def through_redirect_page(link: str) -> str:
    """Pass keystile's redirect page as a browser without JavaScript does (open it, click
    Continue) and return where it forwards: the app's URL. A link straight to the app is returned as it is."""
    if urlsplit(link).path != REDIRECT_PATH:
        return link
    with requests.Session() as browser:
        page = browser.get(
            link, headers={k: v for k, v in BROWSER_HEADERS.items() if k != "Sec-Fetch-Site"}, timeout=10
        )
        assert page.status_code == 200, page.text
        form = redirect_page_form(page.text)
        resp = browser.post(link.split("?")[0], data=form, headers=BROWSER_HEADERS, allow_redirects=False, timeout=10)
    assert resp.status_code == 303, resp.text
    return resp.headers["location"]


def link_params(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


# --- keystile as its own process ---------------------------------------------------------


def keystile_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYSTILE_", "PROMETHEUS_"))}
    env["KEYSTILE_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_keystile(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`keystile …` with this environment's KEYSTILE_ settings: `serve` as a process of its
    own (it must refuse to start, and a server that did not would never return); the other
    commands in this process (typer's CliRunner), with their own engine and transaction."""
    if args[0] == "serve":
        return subprocess.run([*KEYSTILE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    return keystile_in_process({k: v for k, v in env.items() if k.startswith("KEYSTILE_")}, *args)


class Serve:
    """`keystile serve` in a subprocess; its output is collected line by line as it comes."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/"
        self.lines: list[str] = []
        self._ended = False
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [*KEYSTILE, "serve", *args],
            env={**env, "KEYSTILE_PORT": str(self.port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        # One process: started, then bound. Several: the parent binds, a worker listens once started.
        if not (
            self.wait_for("Application startup complete") and self.wait_for("Uvicorn running on") and self._accepting()
        ):
            self.proc.kill()
            raise RuntimeError("keystile serve did not start:\n" + self.output)

    def _accepting(self, timeout: float = 30) -> bool:
        """With workers, the parent binds and a worker listens only after its start-up
        completes (and logs so): wait until a connection is actually accepted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, text: str, count: int = 1, timeout: float = 60) -> bool:
        """Block until `count` lines containing `text` were printed (False if the process ends first)."""

        def seen() -> bool:
            return sum(text in line for line in self.lines) >= count

        with self._changed:
            self._changed.wait_for(lambda: seen() or self._ended, timeout)
            return seen()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        """SIGTERM, then the exit code once the process and its output have ended."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        with self._changed:
            self._changed.wait_for(lambda: self._ended, 10)
        return code


# --- clusters: `keystile serve --workers N` on PostgreSQL, email by SMTP -------------------


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
