"""Does session authentication stay flat as PostgreSQL fills up? And is search index-backed?

Recreates a scratch PostgreSQL database (default `keystile_scale` on 127.0.0.1; it is
dropped first), migrates it and starts `keystile serve` on it (bench/sessions.py does
both), then:

1. fills keystile's tables straight through asyncpg COPY: organizations (each with one
   allowed email domain), one active member per organization, and B2B sessions spread
   over the members, with tokens this script knows;
2. measures B2B `sessions.authenticate` by token (random sessions, N connections) at
   10,000 sessions / 1,000 organizations, then again after filling up to 1,000,000
   sessions / 100,000 organizations, and prints both p50s and their ratio;
3. prints `EXPLAIN ANALYZE` for the session lookup keystile runs and for
   `organizations.search` by slug and by allowed domain.

    .venv/bin/python bench/scale.py                      # 1 M sessions, 100 k organizations
    .venv/bin/python bench/scale.py --sessions 200000 --organizations 20000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import json
import random
import secrets
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sessions import machine, running_keystile
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from keystile.models.organizations import members, organizations
from keystile.organizations.service import _organization_condition
from keystile.sessions.repository import MEMBER_SESSION

console = Console(stderr=True)
CHUNK = 20_000
SAMPLE_TOKENS = 5_000


def recreate(url: str) -> None:
    """Drop and create the scratch database named in the URL (never any other)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}: name a scratch database")
    admin = urlunsplit(parts._replace(path="/postgres"))

    async def run() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())


class Filler:
    """Appends organizations, members and sessions with COPY; remembers some session tokens."""

    def __init__(self, conn: asyncpg.Connection, project_id: str) -> None:
        self.conn = conn
        self.project_id = project_id
        self.organizations = 0
        self.sessions = 0
        self.tokens: list[str] = []
        self.now = dt.datetime.now(dt.UTC)

    async def organizations_to(self, total: int, progress: Progress) -> None:
        task = progress.add_task("organizations + members", total=total - self.organizations)
        while self.organizations < total:
            n = min(CHUNK, total - self.organizations)
            orgs, mems = [], []
            for i in range(self.organizations, self.organizations + n):
                org_id = f"organization-test-scale-{i:08d}"
                settings = {"email_allowed_domains": [f"org{i}.example"]}
                orgs.append(
                    (
                        org_id,
                        self.project_id,
                        f"Org {i}",
                        f"org-{i}",
                        "",
                        None,
                        "{}",
                        json.dumps(settings),
                        self.now,
                        self.now,
                    )
                )
                email = f"user@org{i}.example"
                mems.append(
                    (
                        f"member-test-scale-{i:08d}", self.project_id, org_id, email, email, f"member-email-test-scale-{i:08d}",
                        "active", "", None, True, False, "[]", "{}", "{}", self.now, self.now,
                    )
                )  # fmt: skip
            await self.conn.copy_records_to_table(
                "organizations",
                records=orgs,
                columns=[c.name for c in organizations.columns],
            )
            await self.conn.copy_records_to_table("members", records=mems, columns=[c.name for c in members.columns])
            self.organizations += n
            progress.advance(task, n)

    async def sessions_to(self, total: int, progress: Progress) -> None:
        task = progress.add_task("sessions", total=total - self.sessions)
        factors = orjson.dumps([{"type": "magic_link", "delivery_method": "email", "email_factor": {}}]).decode()
        attributes = '{"ip_address": "", "user_agent": ""}'
        expires = self.now + dt.timedelta(days=1)
        # Started and last accessed ten minutes before the fill, however long the fill
        # takes: a measured session's first authenticate then moves last_accessed_at (one
        # write) in both phases alike. Stamped with the fill's own time, sessions filled
        # more than a minute before their phase would be written and the others not, and
        # a slow fill of 1 M rows would weigh on the 1 M phase alone.
        started = self.now - dt.timedelta(minutes=10)
        columns = [
            "session_id", "project_id", "kind", "token_hash", "member_id", "organization_id", "user_id",
            "authentication_factors", "custom_claims", "attributes", "started_at", "last_accessed_at", "expires_at",
            "revoked_at",
        ]  # fmt: skip
        while self.sessions < total:
            n = min(CHUNK, total - self.sessions)
            rows = []
            for i in range(self.sessions, self.sessions + n):
                token = secrets.token_urlsafe(33)
                if len(self.tokens) < SAMPLE_TOKENS or random.random() < SAMPLE_TOKENS / (i + 1):
                    # reservoir sample, so measured sessions come from the whole table
                    if len(self.tokens) < SAMPLE_TOKENS:
                        self.tokens.append(token)
                    else:
                        self.tokens[random.randrange(SAMPLE_TOKENS)] = token
                org = i % self.organizations
                rows.append(
                    (
                        f"member-session-test-scale-{i:09d}", self.project_id, "b2b", hashlib.sha256(token.encode()).hexdigest(),
                        f"member-test-scale-{org:08d}", f"organization-test-scale-{org:08d}", None,
                        factors, "{}", attributes, started, started, expires, None,
                    )
                )  # fmt: skip
            await self.conn.copy_records_to_table("sessions", records=rows, columns=columns)
            self.sessions += n
            progress.advance(task, n)
        # VACUUM also merges the GIN pending list a bulk load leaves, as autovacuum would.
        await self.conn.execute("VACUUM ANALYZE")


async def measure(
    base_url: str,
    project: dict[str, str],
    tokens: list[str],
    seconds: float,
    connections: int,
) -> dict[str, float]:
    """B2B sessions.authenticate by token over random known sessions; p50/p99 in ms."""
    auth = base64.b64encode(f"{project['project_id']}:{project['secret']}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}
    url = base_url + "v1/b2b/sessions/authenticate"
    latencies: list[float] = []
    errors = 0

    async def worker(http: aiohttp.ClientSession, until: float, record: bool) -> None:
        nonlocal errors
        while time.perf_counter() < until:
            body = orjson.dumps({"session_token": random.choice(tokens)})
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
                elif record:
                    latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:
        warm = time.perf_counter() + 2
        await asyncio.gather(*(worker(http, warm, False) for _ in range(connections)))
        began = time.perf_counter()
        await asyncio.gather(*(worker(http, began + seconds, True) for _ in range(connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, round(p / 100 * (len(latencies) - 1)))] * 1000
            if latencies
            else float("nan")
        )

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": pct(50),
        "p99": pct(99),
    }


def literal_sql(statement: Any) -> str:
    return str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


async def plans(dsn: str, project_id: str, tokens: list[str], organizations_total: int) -> dict[str, str]:
    """EXPLAIN ANALYZE of the session lookup (alone, and as concurrent requests share it:
    eight tokens in one statement) and of organization search by slug and by domain."""
    i = organizations_total // 2
    dialect = postgresql.asyncpg.dialect()
    where = {"project_id": project_id, "kind": "b2b", "now": dt.datetime.now(dt.UTC)}

    def token_hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    one = MEMBER_SESSION["token"].one.compiled(dialect)
    many = MEMBER_SESSION["token"].many.compiled(dialect)

    def search(name: str, value: Any) -> str:
        condition = _organization_condition("postgresql", SimpleNamespace(name=name, value=value))
        return literal_sql(
            select(organizations)
            .where(organizations.c.project_id == project_id, condition)
            .order_by(organizations.c.created_at, organizations.c.organization_id)
            .limit(100)
        )

    queries = {
        "sessions.authenticate lookup (session + member + organization + signing kid)": (
            one.sql,
            one.bind({"token_hash": token_hash(tokens[0]), **where}),
        ),
        "the same lookup for 8 concurrent requests, one statement (token_hash = ANY)": (
            many.sql,
            many.bind({"token_hash": [token_hash(t) for t in tokens[:8]], **where}),
        ),
        "organizations.search by organization_slugs": (
            search("organization_slugs", [f"org-{i}"]),
            [],
        ),
        "organizations.search by allowed_domains": (
            search("allowed_domains", [f"org{i}.example"]),
            [],
        ),
    }
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        for title, (sql, args) in queries.items():
            rows = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF) " + sql, *args)
            out[title] = "\n".join(r[0] for r in rows)
        return out
    finally:
        await conn.close()


async def fill(
    dsn: str,
    project_id: str,
    organizations_total: int,
    sessions_total: int,
    filler: Filler | None,
) -> Filler:
    conn = await asyncpg.connect(dsn)
    try:
        filler = filler or Filler(conn, project_id)
        filler.conn = conn
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            await filler.organizations_to(organizations_total, progress)
            await filler.sessions_to(sessions_total, progress)
        return filler
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/keystile_scale")
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--organizations", type=int, default=100_000)
    parser.add_argument("--small-sessions", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    small_orgs = max(1, args.organizations * args.small_sessions // args.sessions)

    recreate(args.database_url)
    results: dict[str, dict[str, float]] = {}
    with running_keystile(args.database_url, args.workers) as (base_url, project):
        pid = project["project_id"]
        filler = asyncio.run(fill(args.database_url, pid, small_orgs, args.small_sessions, None))
        results[f"{args.small_sessions:,} sessions / {small_orgs:,} orgs"] = asyncio.run(
            measure(base_url, project, filler.tokens, args.seconds, args.connections)
        )
        started = time.perf_counter()
        filler = asyncio.run(fill(args.database_url, pid, args.organizations, args.sessions, filler))
        console.print(f"filled up in {time.perf_counter() - started:.0f} s")
        results[f"{args.sessions:,} sessions / {args.organizations:,} orgs"] = asyncio.run(
            measure(base_url, project, filler.tokens, args.seconds, args.connections)
        )
        explained = asyncio.run(
            plans(
                args.database_url,
                pid,
                random.sample(filler.tokens, 8),
                args.organizations,
            )
        )

    table = Table(
        title=f"B2B sessions.authenticate by token — PostgreSQL, {args.connections} connections, "
        f"{args.seconds:g} s, {args.workers} worker(s)",
        caption=machine(),
    )
    for column in ("data", "requests", "errors", "req/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "data" else "right")
    for label, r in results.items():
        table.add_row(
            label,
            f"{r['requests']:.0f}",
            f"{r['errors']:.0f}",
            f"{r['rps']:,.0f}",
            f"{r['p50']:.2f}",
            f"{r['p99']:.2f}",
        )
    out = Console(width=160)
    out.print(table)
    small, large = results.values()
    out.print(f"p50 at {args.sessions:,} sessions / p50 at {args.small_sessions:,}: {large['p50'] / small['p50']:.2f}×")
    for title, plan in explained.items():
        out.print(f"\n[bold]{title}[/bold]")
        out.print(plan, markup=False, highlight=False)


if __name__ == "__main__":
    main()
