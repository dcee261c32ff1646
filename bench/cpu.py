"""CPU time per request of keystile's hot paths, called in process through the ASGI app.

No network and no load generator: each row's request is sent to the app object itself,
one at a time, and the process's own CPU seconds are counted (`time.process_time`), so a
machine whose CPUs other work shares moves the figures far less than it moves requests/s.
Uvicorn's share (parsing, writing), the same for every row, is left out, so the ratios
to the no-op row come out lower than `sessions.py`'s.

Creates a project with the `keystile` command in a temporary data directory (SQLite, or
an empty PostgreSQL database given with --database-url, migrated first), signs in one
member (discovery) and one user (magic link) over the app, then measures each row for
`--rounds` rounds of `--requests` calls and keeps each row's best round.

    .venv/bin/python bench/cpu.py
    .venv/bin/python bench/cpu.py --database-url postgresql://postgres@127.0.0.1:5432/keystile_cpu
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

REDIRECT_URL = "http://localhost:3000/authenticate"


def keystile_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "keystile", *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise SystemExit(f"keystile {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


async def call(
    app: Any, method: str, path: str, body: Any = None, auth: str | None = None, query: str = ""
) -> tuple[int, bytes]:
    """One request through the ASGI interface; (status, body)."""
    data = json.dumps(body).encode() if body is not None else b""
    headers = [
        (b"host", b"127.0.0.1:4010"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    if auth:
        headers.append((b"authorization", b"Basic " + base64.b64encode(auth.encode())))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 4010),
        "root_path": "",
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="keystile-cpu-") as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTILE_")}
        env.update(KEYSTILE_ENV="dev", KEYSTILE_DATA_DIR=data_dir, KEYSTILE_LOG_LEVEL=args.log_level)
        if args.database_url:
            env["KEYSTILE_DATABASE_URL"] = args.database_url
            keystile_cli(env, "migrate")
        project = json.loads(keystile_cli(env, "projects", "create", "--name", "cpu", "--json"))
        keystile_cli(env, "redirect-urls", "add", REDIRECT_URL, "--project", project["project_id"], "--default")
        os.environ.clear()
        os.environ.update(env)
        from keystile.app import create_app
        from keystile.config import Settings

        app = create_app(Settings())
        auth = f"{project['project_id']}:{project['secret']}"
        async with app.router.lifespan_context(app):

            async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                status, raw = await call(app, "POST", path, body, auth)
                if status != 200:
                    raise SystemExit(f"{path}: {status} {raw[:300]!r}")
                return json.loads(raw)

            async def token_for(email: str) -> str:
                _, raw = await call(app, "GET", "/dev/inbox/messages", query=f"to={email}")
                link = json.loads(raw)["messages"][0]["links"][0]
                return parse_qs(urlsplit(link).query)["token"][0]

            email = "cpu@acme.test"
            await post("/v1/b2b/magic_links/email/discovery/send", {"email_address": email})
            found = await post(
                "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": await token_for(email)}
            )
            member = await post(
                "/v1/b2b/discovery/organizations/create",
                {
                    "intermediate_session_token": found["intermediate_session_token"],
                    "organization_name": "Cpu",
                    "organization_slug": "cpu",
                    "session_duration_minutes": 60,
                },
            )
            email = "cpu@example.test"
            await post("/v1/magic_links/email/login_or_create", {"email": email})
            user = await post(
                "/v1/magic_links/authenticate", {"token": await token_for(email), "session_duration_minutes": 60}
            )
            rows: list[tuple[str, str, str, dict[str, Any] | None]] = [
                ("GET /healthz", "GET", "/healthz", None),
                ("B2B by token", "POST", "/v1/b2b/sessions/authenticate", {"session_token": member["session_token"]}),
                ("B2B by JWT", "POST", "/v1/b2b/sessions/authenticate", {"session_jwt": member["session_jwt"]}),
                ("consumer by token", "POST", "/v1/sessions/authenticate", {"session_token": user["session_token"]}),
                ("consumer by JWT", "POST", "/v1/sessions/authenticate", {"session_jwt": user["session_jwt"]}),
            ]
            best: dict[str, float] = {}
            for _ in range(args.rounds):
                for name, method, path, body in rows:
                    for _ in range(args.requests // 10):  # warm-up
                        status, raw = await call(app, method, path, body, auth)
                        if status != 200:
                            raise SystemExit(f"{name}: {status} {raw[:300]!r}")
                    started = time.process_time()
                    for _ in range(args.requests):
                        await call(app, method, path, body, auth)
                    spent = (time.process_time() - started) / args.requests
                    best[name] = min(best.get(name, spent), spent)
    ceiling = best[rows[0][0]]
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"CPU per request, in process, {database}, best of {args.rounds} rounds of {args.requests} calls")
    for name, *_ in rows:
        print(f"  {name:18} {best[name] * 1e6:6.0f} µs   {ceiling / best[name]:.2f}× no-op")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="calls per row and round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each row keeps its best (default 3)")
    parser.add_argument("--database-url", help="an empty scratch PostgreSQL database (default: SQLite in a temp dir)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args()
    if args.requests < 10 or args.rounds < 1:
        parser.error("--requests must be >= 10 and --rounds >= 1")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
