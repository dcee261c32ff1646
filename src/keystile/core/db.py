"""Engines and transactions. One request or one CLI command is one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _sqlite_write_transactions(engine)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=False)


def _sqlite_write_transactions(engine: AsyncEngine) -> None:
    """Every SQLite transaction takes the write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes can fail with SQLITE_BUSY at once
    when another connection wrote in between; an immediate one waits its turn instead,
    so concurrent requests serialize cleanly. WAL lets readers of other processes (the
    CLI, a second server) keep reading meanwhile.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine plus how to open a transaction on it.

    On SQLite one process runs one transaction at a time: an asyncio lock queues them in
    the process, so they never spin on SQLite's busy handler (which sleeps up to 100 ms
    per retry and made p99 latency hundreds of milliseconds under load). Other processes
    (the CLI, more workers) are still kept apart by BEGIN IMMEDIATE and the busy timeout.
    """

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._lock = asyncio.Lock() if url.startswith("sqlite") else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """Commit once at the end, roll back on any error."""
        if self._lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._lock, self.engine.begin() as conn:
            yield conn
