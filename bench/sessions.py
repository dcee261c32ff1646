"""How fast keystile authenticates sessions, next to a no-op endpoint on the same server.

Starts `keystile serve` as a subprocess on a free loopback port with a temporary data
directory (SQLite by default, or the PostgreSQL database given with --database-url),
creates a project with `keystile projects create --json`, signs in once through the
official SDK (a B2B member through the discovery magic-link flow, and a consumer user
through login_or_create + authenticate when those endpoints exist), then drives each
endpoint for a fixed number of seconds over N concurrent keep-alive connections and
prints requests/s, p50 and p99 latency, and each row's throughput relative to
`GET /healthz` (the framework ceiling). Everything stays on 127.0.0.1 and stops by itself.

    .venv/bin/python bench/sessions.py --seconds 5 --connections 16
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime
import json
import os
import platform
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pyotp
import requests
import stytch
from rich.console import Console
from rich.table import Table
from stytch.core.response_base import StytchError

REDIRECT_URL = "http://localhost:3000/authenticate"
# `--pin`: servers run under `taskset -c SERVER_CPUS`, the load generator on the other CPUs.
PIN_SERVER: list[str] = []
console = Console(stderr=True)


@dataclass
class Target:
    """One row of the table: a request to repeat, or the reason it cannot be measured."""

    name: str
    by: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    # Per connection: connection i sends bodies[i % len(bodies)] and adds
    # header_sets[i % len(header_sets)] (its own session).
    bodies: list[dict[str, Any]] = field(default_factory=list)
    header_sets: list[dict[str, str]] = field(default_factory=list)
    auth: bool = True
    skipped: str | None = None
    base_url: str | None = None  # another server (the peer); default: keystile's
    headers: dict[str, str] = field(default_factory=dict)
    # A flow: several requests in sequence per virtual user, timed as one. Called with
    # (http, base_url, headers, n) and returns None on success or what went wrong.
    flow: Callable[[aiohttp.ClientSession, str, dict[str, str], int], Awaitable[str | None]] | None = None
    # A row with a duration of its own (the shared session's), measured once, in the first
    # round, instead of `--seconds` spread over the rounds.
    seconds: float | None = None


@dataclass
class Result:
    target: Target
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    first_error: str | None = None
    # For a row with its own duration: when each measured request started (seconds into the
    # row), and when each last_accessed_at the responses showed was first seen.
    starts: list[float] = field(default_factory=list)
    steps: dict[bytes, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def max(self) -> float:
        return max(self.latencies, default=float("nan"))

    def over(self, seconds: float) -> int:
        return sum(1 for latency in self.latencies if latency > seconds)

    def slices(self, width: float) -> list[float]:
        """The slowest request of each `width` seconds of the row (by start time)."""
        slowest: dict[int, float] = {}
        for start, latency in zip(self.starts, self.latencies, strict=True):
            n = int(start // width)
            slowest[n] = max(slowest.get(n, 0.0), latency)
        return [slowest.get(n, float("nan")) for n in range(max(slowest, default=-1) + 1)]

    def around_steps(self, seconds: float) -> list[tuple[float, float]]:
        """(when, slowest request started within `seconds` of it) for each one-minute
        last_accessed_at step the responses showed after the first value."""
        found: list[tuple[float, float]] = []
        for when in sorted(self.steps.values())[1:]:
            # Requests in flight at a step each show the time they found it due: one step.
            if found and when - found[-1][0] < 30:
                continue
            near = [lat for start, lat in zip(self.starts, self.latencies, strict=True) if abs(start - when) <= seconds]
            found.append((when, max(near, default=float("nan"))))
        return found

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ----------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keystile_cli(env: dict[str, str], *args: str) -> str:
    """Run one `keystile …` command against the bench's database; return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "keystile", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"keystile {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def running_keystile(
    database_url: str | None, workers: int, log_level: str = "info"
) -> Iterator[tuple[str, dict[str, str]]]:
    """A `keystile serve` subprocess with its own data directory; yields (base URL, project)."""
    with tempfile.TemporaryDirectory(prefix="keystile-bench-") as data_dir:
        port = free_port()
        env = dict(os.environ)
        env.update(
            KEYSTILE_ENV="dev",
            KEYSTILE_DATA_DIR=data_dir,
            KEYSTILE_PORT=str(port),
            KEYSTILE_HOST="127.0.0.1",
        )
        # The server runs with keystile's default limits: none caps a project's traffic.
        for name in [k for k in env if k.startswith("KEYSTILE_RATE_LIMIT")]:
            env.pop(name)
        # keystile's default "info" writes one JSON access line per request (not for /healthz).
        env["KEYSTILE_LOG_LEVEL"] = log_level
        env.pop("KEYSTILE_CONFIG_FILE", None)
        if database_url:
            env["KEYSTILE_DATABASE_URL"] = database_url
            keystile_cli(env, "migrate")
        else:
            env.pop("KEYSTILE_DATABASE_URL", None)
        project = json.loads(keystile_cli(env, "projects", "create", "--name", "bench", "--json"))
        keystile_cli(
            env,
            "redirect-urls",
            "add",
            REDIRECT_URL,
            "--project",
            project["project_id"],
            "--default",
        )
        log = open(Path(data_dir) / "serve.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                *PIN_SERVER,
                sys.executable,
                "-m",
                "keystile",
                "serve",
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    log.flush()
                    raise SystemExit("keystile serve exited:\n" + (Path(data_dir) / "serve.log").read_text())
                with contextlib.suppress(requests.RequestException):
                    if requests.get(base_url + "healthz", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit("keystile serve did not answer /healthz within 60 s")
                time.sleep(0.1)
            yield base_url, project
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


# ----------------------------------------------------------------------------- sessions


def inbox_token(base_url: str, email: str) -> str:
    messages = requests.get(f"{base_url}dev/inbox/messages", params={"to": email}, timeout=10).json()["messages"]
    link = messages[0]["links"][0]
    return parse_qs(urlsplit(link).query)["token"][0]


def why(exc: StytchError) -> str:
    return f"{exc.details.error_type} ({exc.details.status_code})"


def b2b_sessions(base_url: str, project: dict[str, str], count: int) -> tuple[list[tuple[str, str]], str] | str:
    """`count` member sessions, one per member, in an organization that anyone at
    acme.test may join: the first through the discovery flow (which creates the
    organization), the others through organization magic links (which add each member);
    ([(token, jwt), …], organization id), or why it failed."""
    client = stytch.B2BClient(project["project_id"], project["secret"], environment=base_url)
    email = f"bench-0-{RUN}@acme.test"
    try:
        client.magic_links.email.discovery.send(email_address=email)
        ist = client.magic_links.discovery.authenticate(
            discovery_magic_links_token=inbox_token(base_url, email)
        ).intermediate_session_token
        created = client.discovery.organizations.create(
            intermediate_session_token=ist,
            organization_name="Bench",
            organization_slug="bench",
            session_duration_minutes=60,
        )
        organization_id = created.organization.organization_id
        client.organizations.update(
            organization_id=organization_id,
            email_allowed_domains=["acme.test"],
            email_jit_provisioning="RESTRICTED",
        )
        found = [(created.session_token, created.session_jwt)]
        for n in range(1, count):
            email = f"bench-{n}-{RUN}@acme.test"
            client.magic_links.email.login_or_signup(organization_id=organization_id, email_address=email)
            member = client.magic_links.authenticate(
                magic_links_token=inbox_token(base_url, email),
                session_duration_minutes=60,
            )
            found.append((member.session_token, member.session_jwt))
    except StytchError as exc:
        return why(exc)
    return found, organization_id


def consumer_sessions(base_url: str, project: dict[str, str], count: int) -> list[tuple[str, str]] | str:
    """`count` user sessions, one per user, through login_or_create + authenticate;
    [(token, jwt), …], or why it failed."""
    client = stytch.Client(project["project_id"], project["secret"], environment=base_url)
    found = []
    try:
        for n in range(count):
            email = f"bench-{n}-{RUN}@example.test"
            client.magic_links.email.login_or_create(email=email)
            resp = client.magic_links.authenticate(token=inbox_token(base_url, email), session_duration_minutes=60)
            found.append((resp.session_token, resp.session_jwt))
    except StytchError as exc:
        return why(exc)
    return found


RUN = secrets.token_hex(4)  # keeps this run's email addresses apart from any earlier run's


async def _post(http: aiohttp.ClientSession, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    async with http.post(url, data=json.dumps(body).encode(), headers=headers) as resp:
        data = await resp.json(content_type=None)
        if resp.status != 200:
            raise FlowError(f"{url.rsplit('/v1/', 1)[-1]}: {resp.status} {data.get('error_type')}")
        return data


class FlowError(Exception):
    pass


async def _send_to_inbox(http: aiohttp.ClientSession, base_url: str, headers: dict[str, str], email: str) -> str:
    """Discovery send, then the link from the dev inbox; returns the token."""
    await _post(
        http,
        base_url + "v1/b2b/magic_links/email/discovery/send",
        headers,
        {"email_address": email},
    )
    async with http.get(base_url + "dev/inbox/messages", params={"to": email, "limit": "1"}) as resp:
        messages = (await resp.json())["messages"]
    if not messages:
        raise FlowError("no message in the inbox")
    return parse_qs(urlsplit(messages[0]["links"][0]).query)["token"][0]


async def magic_link_flow(http: aiohttp.ClientSession, base_url: str, headers: dict[str, str], n: int) -> str | None:
    """A discovery magic link sent, and its link read from the dev inbox."""
    try:
        await _send_to_inbox(http, base_url, headers, f"ml-{RUN}-{n}@acme.test")
    except FlowError as exc:
        return str(exc)
    return None


def discovery_flow(organization_id: str) -> Callable[..., Awaitable[str | None]]:
    async def flow(http: aiohttp.ClientSession, base_url: str, headers: dict[str, str], n: int) -> str | None:
        """A new person of acme.test: send → inbox → discovery authenticate → exchange into
        the bench organization (joining it by email domain), which starts a session."""
        try:
            token = await _send_to_inbox(http, base_url, headers, f"disc-{RUN}-{n}@acme.test")
            ist = (
                await _post(
                    http,
                    base_url + "v1/b2b/magic_links/discovery/authenticate",
                    headers,
                    {"discovery_magic_links_token": token},
                )
            )["intermediate_session_token"]
            await _post(
                http,
                base_url + "v1/b2b/discovery/intermediate_sessions/exchange",
                headers,
                {"intermediate_session_token": ist, "organization_id": organization_id},
            )
        except FlowError as exc:
            return str(exc)
        return None

    return flow


def mfa_organization(base_url: str, project: dict[str, str]) -> str:
    """An organization that requires MFA of everyone and provisions anyone at mfa.test on
    their first magic link; its id, or why it could not be made."""
    client = stytch.B2BClient(project["project_id"], project["secret"], environment=base_url)
    try:
        return client.organizations.create(
            organization_name="Bench MFA",
            organization_slug="bench-mfa",
            mfa_policy="REQUIRED_FOR_ALL",
            email_allowed_domains=["mfa.test"],
            email_jit_provisioning="RESTRICTED",
        ).organization.organization_id
    except StytchError as exc:
        return "no MFA organization: " + why(exc)


async def _latest_message(http: aiohttp.ClientSession, base_url: str, to: str) -> dict[str, Any]:
    async with http.get(base_url + "dev/inbox/messages", params={"to": to, "limit": "1"}) as resp:
        messages = (await resp.json())["messages"]
    if not messages:
        raise FlowError(f"no message to {to} in the inbox")
    return messages[0]


async def _mfa_login(
    http: aiohttp.ClientSession, base_url: str, headers: dict[str, str], organization_id: str, email: str
) -> tuple[str, str]:
    """A new person of mfa.test: organization magic link sent, read from the inbox and
    authenticated (3 requests); the policy answers with an intermediate session, not a
    session. (member_id, intermediate_session_token)."""
    await _post(
        http,
        base_url + "v1/b2b/magic_links/email/login_or_signup",
        headers,
        {"organization_id": organization_id, "email_address": email},
    )
    token = parse_qs(urlsplit((await _latest_message(http, base_url, email))["links"][0]).query)["token"][0]
    first = await _post(http, base_url + "v1/b2b/magic_links/authenticate", headers, {"magic_links_token": token})
    if first.get("member_authenticated") or not first.get("intermediate_session_token"):
        raise FlowError("magic_links/authenticate: no MFA asked")
    return first["member_id"], first["intermediate_session_token"]


# Each MFA flow is a new person: `n` starts again at 0 with each warm-up and each round, and
# a Member met again would have a TOTP already (or a number texted too often).
MFA_PEOPLE = count()


def totp_flow(organization_id: str) -> Callable[..., Awaitable[str | None]]:
    async def flow(http: aiohttp.ClientSession, base_url: str, headers: dict[str, str], _: int) -> str | None:
        """The MFA login → totps.create → a code computed from its secret → totps.authenticate,
        which verifies the TOTP and starts a session of both factors."""
        n = next(MFA_PEOPLE)
        try:
            member_id, ist = await _mfa_login(http, base_url, headers, organization_id, f"totp-{RUN}-{n}@mfa.test")
            caller = {"organization_id": organization_id, "member_id": member_id, "intermediate_session_token": ist}
            secret = (await _post(http, base_url + "v1/b2b/totp", headers, caller))["secret"]
            body = {**caller, "code": pyotp.TOTP(secret).now()}
            done = await _post(http, base_url + "v1/b2b/totp/authenticate", headers, body)
            if not done.get("session_token"):
                raise FlowError("totp/authenticate: no session")
        except FlowError as exc:
            return str(exc)
        return None

    return flow


def sms_flow(organization_id: str) -> Callable[..., Awaitable[str | None]]:
    async def flow(http: aiohttp.ClientSession, base_url: str, headers: dict[str, str], _: int) -> str | None:
        """The MFA login → otps.sms.send to a new number → the text read from the dev inbox →
        otps.sms.authenticate, which starts a session of both factors."""
        n = next(MFA_PEOPLE)
        number = f"+1202{200 + n // 10000 % 800}{n % 10000:04d}"  # one number per flow, as per member
        try:
            member_id, ist = await _mfa_login(http, base_url, headers, organization_id, f"sms-{RUN}-{n}@mfa.test")
            caller = {"organization_id": organization_id, "member_id": member_id, "intermediate_session_token": ist}
            await _post(http, base_url + "v1/b2b/otps/sms/send", headers, {**caller, "mfa_phone_number": number})
            found = re.search(r"\b(\d{6})\b", (await _latest_message(http, base_url, number))["text"])
            if not found:
                raise FlowError("no passcode in the text")
            done = await _post(
                http, base_url + "v1/b2b/otps/sms/authenticate", headers, {**caller, "code": found.group(1)}
            )
            if not done.get("session_token"):
                raise FlowError("otps/sms/authenticate: no session")
        except FlowError as exc:
            return str(exc)
        return None

    return flow


SHARED = "one shared session"


def targets(base_url: str, project: dict[str, str], sessions: int, shared_seconds: float = 0) -> list[Target]:
    """The rows; each session row gets `sessions` sessions, one per connection, so that
    concurrent requests name different sessions, as an app's users would. With
    `shared_seconds`, one more row where every connection names the same session (a
    service account, a dashboard that polls, many tabs) for that long: long enough to
    cross several of its one-minute `last_accessed_at` steps."""
    rows = [Target("GET /healthz", "no-op", "GET", "healthz", auth=False)]
    console.print(f"[dim]signing in {sessions} members and {sessions} users[/dim]")
    b2b = b2b_sessions(base_url, project, sessions)
    consumer = consumer_sessions(base_url, project, sessions)
    for label, path, made in (
        ("B2B", "v1/b2b/sessions/authenticate", b2b if isinstance(b2b, str) else b2b[0]),
        ("consumer", "v1/sessions/authenticate", consumer),
    ):
        for kind, index in (("session_token", 0), ("session_jwt", 1)):
            name = f"{label} POST /{path}"
            if isinstance(made, str):
                rows.append(
                    Target(
                        name,
                        kind,
                        "POST",
                        path,
                        skipped=f"no {label} session: {made}",
                    )
                )
            else:
                bodies = [{kind: session[index]} for session in made]
                rows.append(Target(name, kind, "POST", path, bodies=bodies))
    if shared_seconds > 0:
        name, path = "B2B POST /v1/b2b/sessions/authenticate", "v1/b2b/sessions/authenticate"
        if isinstance(b2b, str):
            rows.append(Target(name, SHARED, "POST", path, skipped=f"no B2B session: {b2b}"))
        else:
            body = {"session_token": b2b[0][0][0]}
            rows.append(Target(name, SHARED, "POST", path, bodies=[body], seconds=shared_seconds))
    rows.append(Target("B2B discovery send → dev inbox", "flow of 2", "", "", flow=magic_link_flow))
    name = "B2B discovery send → inbox → authenticate → exchange"
    if isinstance(b2b, str):
        rows.append(Target(name, "flow of 4", "", "", skipped=f"no organization: {b2b}"))
    else:
        rows.append(Target(name, "flow of 4", "", "", flow=discovery_flow(b2b[1])))
    mfa = mfa_organization(base_url, project)
    for name, by, flow in (
        ("B2B MFA login (send → inbox → authenticate) → totps.create → totps.authenticate", "flow of 5", totp_flow),
        (
            "B2B MFA login (send → inbox → authenticate) → otps.sms.send → inbox → otps.sms.authenticate",
            "flow of 6",
            sms_flow,
        ),
    ):
        if mfa.startswith("no MFA"):
            rows.append(Target(name, by, "", "", skipped=mfa))
        else:
            rows.append(Target(name, by, "", "", flow=flow(mfa)))
    return rows


PEER_DIR = Path(__file__).parent / "peers" / "better-auth"


@contextlib.contextmanager
def running_better_auth(users: int) -> Iterator[Target]:
    """better-auth on SQLite (bench/peers/better-auth/server.mjs); yields its get-session
    row, with `users` users signed up, one session cookie per connection."""
    name, by = "better-auth GET /api/auth/get-session", "session cookie"
    if not (PEER_DIR / "node_modules").is_dir():
        yield Target(name, by, "GET", "", skipped="run `npm ci` in bench/peers/better-auth first")
        return
    with tempfile.TemporaryDirectory(prefix="better-auth-bench-") as data_dir:
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        proc = subprocess.Popen(
            [
                *PIN_SERVER,
                "node",
                "server.mjs",
                str(port),
                str(Path(data_dir) / "auth.db"),
            ],
            cwd=PEER_DIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(base + "healthz", timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    yield Target(name, by, "GET", "", skipped="better-auth server did not start")
                    return
                time.sleep(0.1)
            cookies = []
            for n in range(users):
                signed_up = requests.post(
                    base + "api/auth/sign-up/email",
                    json={
                        "email": f"bench-{n}@example.test",
                        "password": "correct-horse-battery",
                        "name": "Bench",
                    },
                    headers={"Origin": base.rstrip("/")},
                    timeout=10,
                )
                cookie = signed_up.cookies.get("better-auth.session_token")
                if not cookie:
                    yield Target(
                        name,
                        by,
                        "GET",
                        "",
                        skipped=f"sign-up failed: {signed_up.status_code}",
                    )
                    return
                cookies.append(cookie)
            yield Target(
                name,
                by,
                "GET",
                "api/auth/get-session",
                auth=False,
                base_url=base,
                header_sets=[{"Cookie": f"better-auth.session_token={cookie}"} for cookie in cookies],
            )
        finally:
            proc.terminate()
            proc.wait(10)


# ----------------------------------------------------------------------------- load


async def drive(
    http: aiohttp.ClientSession,
    base_url: str,
    target: Target,
    headers: dict[str, str],
    seconds: float,
    connections: int,
) -> Result:
    """Repeat the target's request from `connections` workers until `seconds` have passed."""
    result = Result(target)
    url = (target.base_url or base_url) + target.path
    headers = {**headers, **target.headers}
    bodies = target.bodies or ([target.body] if target.body is not None else [])
    payloads = [json.dumps(body).encode() for body in bodies]
    deadline = time.perf_counter() + seconds

    numbers = count()
    timeline = target.seconds is not None
    began = time.perf_counter()

    async def worker(n: int) -> None:
        data = payloads[n % len(payloads)] if payloads else None
        own = {**headers, **target.header_sets[n % len(target.header_sets)]} if target.header_sets else headers
        clock = time.perf_counter
        while clock() < deadline:
            started = clock()
            if target.flow is not None:
                try:
                    problem = await target.flow(http, base_url, headers, next(numbers))
                except aiohttp.ClientError as exc:
                    problem = repr(exc)
                ok, body = problem is None, (problem or "").encode()
            else:
                try:
                    async with http.request(target.method, url, data=data, headers=own) as resp:
                        body = await resp.read()
                        ok = resp.status == 200
                except aiohttp.ClientError as exc:
                    ok, body = False, repr(exc).encode()
            if ok:
                result.latencies.append(clock() - started)
                if timeline:
                    result.starts.append(started - began)
                    at = body.find(b'"last_accessed_at":"')
                    if at >= 0:
                        result.steps.setdefault(body[at + 20 : body.find(b'"', at + 20)], started - began)
            else:
                result.errors += 1
                result.first_error = result.first_error or body[:300].decode(errors="replace")

    await asyncio.gather(*(worker(n) for n in range(connections)))
    result.elapsed = time.perf_counter() - began
    return result


async def measure(
    base_url: str,
    project: dict[str, str],
    rows: list[Target],
    seconds: float,
    warmup: float,
    connections: int,
    rounds: int = 1,
) -> list[Result]:
    """Each row for `seconds` in all, in `rounds` turns taken in rotation (row 1, row 2, …,
    row 1, row 2, …), so that a machine getting busier or quieter during the run weighs on
    every row alike; a row's turns are pooled into one result."""
    token = base64.b64encode(f"{project['project_id']}:{project['secret']}".encode()).decode()
    results = [Result(target) for target in rows]
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        for turn in range(rounds):
            for result in results:
                target = result.target
                if target.skipped or (target.seconds is not None and turn > 0):
                    continue
                headers = {"Content-Type": "application/json"}
                if target.auth:
                    headers["Authorization"] = f"Basic {token}"
                duration = target.seconds if target.seconds is not None else seconds / rounds
                console.print(
                    f"[dim]{target.name} by {target.by}: round {turn + 1}/{rounds}, "
                    f"warm-up {warmup:g} s, then {duration:g} s[/dim]"
                )
                await drive(http, base_url, target, headers, warmup, connections)
                part = await drive(http, base_url, target, headers, duration, connections)
                result.latencies.extend(part.latencies)
                result.starts.extend(part.starts)
                for step, when in part.steps.items():
                    result.steps.setdefault(step, when)
                result.errors += part.errors
                result.elapsed += part.elapsed
                result.first_error = result.first_error or part.first_error
    return results


# ----------------------------------------------------------------------------- report


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def report(results: list[Result], args: argparse.Namespace, database: str) -> Table:
    ceiling = results[0].rps if results and results[0].latencies else 0.0
    peer = next(
        (r.rps for r in results if r.target.name.startswith("better-auth") and r.latencies),
        0.0,
    )
    table = Table(
        title=f"keystile session authentication — {database}, {args.connections} connections, {args.seconds:g} s per row"
        + (f" in {args.rounds} rounds" if args.rounds > 1 else ""),
        caption=f"{machine()}; "
        + (f"servers pinned to CPU {args.pin}, load generator on the rest; " if args.pin else "unpinned; ")
        + f"log level {args.log_level}; load average {os.getloadavg()[0]:.1f}; "
        + f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
    )
    for column in (
        "endpoint",
        "by",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "vs no-op",
        "vs better-auth",
    ):
        table.add_column(column, justify="left" if column in ("endpoint", "by") else "right")
    for r in results:
        if r.target.by == SHARED and r.latencies:
            console.print(
                f"{r.target.name} by {SHARED}: {r.elapsed:.0f} s, max {r.max * 1000:.0f} ms, "
                f"{r.over(0.3)} of {len(r.latencies)} requests over 300 ms; slowest per 10 s (ms): "
                + " ".join(f"{latency * 1000:.0f}" for latency in r.slices(10))
            )
            console.print(
                "last_accessed_at steps (s into the row: slowest request within 2 s, ms): "
                + (", ".join(f"{when:.0f}: {lat * 1000:.0f}" for when, lat in r.around_steps(2)) or "none")
            )
        if r.target.skipped:
            table.add_row(r.target.name, r.target.by, "—", "—", "—", "—", "—", "—", "skipped", "")
            continue
        ratio = f"{r.rps / ceiling:.2f}×" if ceiling else "—"
        versus_peer = f"{r.rps / peer:.2f}×" if peer and r.target.flow is None else ""
        table.add_row(
            r.target.name,
            r.target.by,
            f"{len(r.latencies)}",
            f"{r.errors}",
            f"{r.rps:,.0f}",
            f"{r.percentile(50) * 1000:.2f}",
            f"{r.percentile(99) * 1000:.2f}",
            f"{r.max * 1000:.2f}",
            ratio,
            versus_peer,
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="measured seconds per row (default 5)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="unmeasured seconds before each row (default 1)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=16,
        help="concurrent connections (default 16)",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL of an empty scratch database (default: SQLite in a temporary directory)",
    )
    parser.add_argument("--workers", type=int, default=1, help="`keystile serve --workers` (default 1)")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="KEYSTILE_LOG_LEVEL of the server; info (the default) logs every request but /healthz",
    )
    parser.add_argument(
        "--pin",
        metavar="CPUS",
        help="run the servers on these CPUs (taskset list, e.g. 0) and the load generator on the others",
    )
    parser.add_argument(
        "--no-peer",
        dest="peer",
        action="store_false",
        help="skip the better-auth row (bench/peers/better-auth)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure the rows in this many turns, in rotation, each row's turns pooled",
    )
    parser.add_argument(
        "--shared-seconds",
        type=float,
        default=190.0,
        help="seconds of the row where every connection names one shared session, measured once "
        "(default 190: three of its one-minute last_accessed_at steps); 0 leaves the row out",
    )
    parser.add_argument(
        "--only",
        help="measure only rows whose endpoint or `by` contains one of these comma-separated texts",
    )
    args = parser.parse_args()
    if args.seconds <= 0 or args.connections < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--seconds must be > 0, --warmup >= 0, --connections >= 1 and --rounds >= 1")
    database = "PostgreSQL" if args.database_url else "SQLite"

    if args.pin:
        server_cpus = {int(c) for c in args.pin.split(",")}
        client_cpus = set(os.sched_getaffinity(0)) - server_cpus
        if not client_cpus:
            parser.error("--pin must leave at least one CPU for the load generator")
        PIN_SERVER[:] = ["taskset", "-c", args.pin]
        os.sched_setaffinity(0, client_cpus)
    peer = running_better_auth(args.connections) if args.peer else contextlib.nullcontext(None)
    with (
        running_keystile(args.database_url, args.workers, args.log_level) as (
            base_url,
            project,
        ),
        peer as peer_row,
    ):
        console.print(f"keystile at {base_url} ({database}, {args.workers} worker(s)), project {project['project_id']}")
        rows = targets(base_url, project, args.connections, args.shared_seconds) + ([peer_row] if peer_row else [])
        if args.only:
            wanted = [text.strip() for text in args.only.split(",") if text.strip()]
            rows = [r for r in rows if any(text in f"{r.name} {r.by}" for text in wanted)]
        results = asyncio.run(
            measure(
                base_url,
                project,
                rows,
                args.seconds,
                args.warmup,
                args.connections,
                args.rounds,
            )
        )

    Console(width=160).print(report(results, args, database))
    for r in results:
        if r.target.by == SHARED and r.latencies:
            console.print(
                f"{r.target.name} by {SHARED}: {r.elapsed:.0f} s, max {r.max * 1000:.0f} ms, "
                f"{r.over(0.3)} of {len(r.latencies)} requests over 300 ms; slowest per 10 s (ms): "
                + " ".join(f"{latency * 1000:.0f}" for latency in r.slices(10))
            )
            console.print(
                "last_accessed_at steps (s into the row: slowest request within 2 s, ms): "
                + (", ".join(f"{when:.0f}: {lat * 1000:.0f}" for when, lat in r.around_steps(2)) or "none")
            )
        if r.target.skipped:
            console.print(f"[yellow]{r.target.name} by {r.target.by}: skipped, {r.target.skipped}[/yellow]")
        if r.errors:
            console.print(f"[yellow]{r.target.name}: {r.errors} failed requests, first: {r.first_error}[/yellow]")


if __name__ == "__main__":
    main()
