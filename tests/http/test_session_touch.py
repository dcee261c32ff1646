"""sessions.authenticate moves `last_accessed_at` once per session per minute, in the
background: the write happens when it is due, once however many requests find it due at
the same time, and never holds up a request, even while another connection holds the
write lock (SQLite) or the session's row (PostgreSQL). On both databases."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import bindparam, event, select

from keystile.core.clock import rfc3339
from keystile.core.db import Query, sqlite_path
from keystile.models.sessions import sessions
from tests.support import Server

PARALLEL = 20
LAST_ACCESSED = Query(select(sessions.c.last_accessed_at).where(sessions.c.session_id == bindparam("session_id")))


def log_in(http: Any, inbox: Any) -> dict[str, Any]:
    """A consumer session: login_or_create → inbox → magic_links.authenticate."""
    email = f"touch-{uuid.uuid4().hex[:10]}@example.test"
    http.post(f"{http.base_url}v1/magic_links/email/login_or_create", json={"email": email}, timeout=10)
    resp = http.post(
        f"{http.base_url}v1/magic_links/authenticate",
        json={"token": inbox.latest_token(email), "session_duration_minutes": 60},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def authenticate(http: Any, token: str) -> requests.Response:
    return http.post(f"{http.base_url}v1/sessions/authenticate", json={"session_token": token}, timeout=10)


def stored(server: Server, session_id: str) -> datetime:
    """last_accessed_at as stored, read outside any transaction (so past a held write lock)."""
    row = server.run(server.state.db.read_one(LAST_ACCESSED, session_id=session_id))
    return row.last_accessed_at


def settle(server: Server) -> None:
    """Wait for the server's background writes."""
    server.run(server.state.db.behind.drain(30))


@contextmanager
def updates_of(server: Server, session_id: str) -> Iterator[list[str]]:
    """The UPDATE statements run on the session's row while the block runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE SESSIONS") and session_id in str(parameters):
            seen.append(statement)

    engine = server.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@contextmanager
def write_lock_held(server: Server, session_id: str) -> Iterator[None]:
    """Another connection holds what the touch needs: SQLite's write lock, or the session's
    row on PostgreSQL."""
    if server.backend == "sqlite":
        other = sqlite3.connect(sqlite_path(server.settings.db_url), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    import asyncpg

    dsn = server.settings.db_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    other = server.run(asyncpg.connect(dsn))
    try:
        server.run(other.execute("BEGIN"))
        server.run(other.execute("SELECT 1 FROM sessions WHERE session_id = $1 FOR UPDATE", session_id))
        yield
        server.run(other.execute("ROLLBACK"))
    finally:
        server.run(other.close())


class TestTouch:
    def test_a_session_used_again_within_the_minute_is_not_written(self, server, http, inbox):
        login = log_in(http, inbox)
        session_id = login["session"]["session_id"]
        before = stored(server, session_id)

        with updates_of(server, session_id) as updates:
            server.clock.advance(seconds=30)
            for _ in range(3):
                assert authenticate(http, login["session_token"]).status_code == 200
            settle(server)

        assert updates == []
        assert stored(server, session_id) == before

    def test_last_accessed_at_moves_once_it_is_due(self, server, http, inbox):
        login = log_in(http, inbox)
        session_id = login["session"]["session_id"]
        before = stored(server, session_id)

        server.clock.advance(minutes=2)
        resp = authenticate(http, login["session_token"])
        settle(server)

        after = stored(server, session_id)
        assert (after - before).total_seconds() >= 120
        assert resp.json()["session"]["last_accessed_at"] == rfc3339(after)

    def test_many_requests_finding_it_due_at_once_write_once(self, server, http, inbox):
        login = log_in(http, inbox)
        session_id = login["session"]["session_id"]
        url = f"{http.base_url}v1/sessions/authenticate"
        gate = threading.Barrier(PARALLEL)

        def one(_: int) -> int:
            with requests.Session() as session:
                session.auth = http.auth
                gate.wait()
                return session.post(url, json={"session_token": login["session_token"]}, timeout=30).status_code

        server.clock.advance(minutes=2)
        with updates_of(server, session_id) as updates:
            with ThreadPoolExecutor(PARALLEL) as pool:
                statuses = list(pool.map(one, range(PARALLEL)))
            settle(server)

        assert statuses == [200] * PARALLEL
        assert len(updates) == 1

    def test_a_request_does_not_wait_for_a_held_write_lock(self, server, http, inbox):
        login = log_in(http, inbox)
        session_id = login["session"]["session_id"]
        before = stored(server, session_id)
        server.clock.advance(minutes=2)

        with write_lock_held(server, session_id):
            started = time.monotonic()
            resp = authenticate(http, login["session_token"])
            took = time.monotonic() - started
            assert stored(server, session_id) == before  # the touch is still waiting for the lock
        settle(server)

        assert resp.status_code == 200, resp.text
        assert took < 2, f"authenticate waited {took:.2f} s for the write lock"
        assert (stored(server, session_id) - before).total_seconds() >= 120
