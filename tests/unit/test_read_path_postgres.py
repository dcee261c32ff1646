"""The PostgreSQL read path against a real PostgreSQL: its connections (`ReadPool`) and
keyed lookups that concurrent requests share (`Lookup`)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, select

from keystile.core.db import Database, Lookup
from keystile.core.readpool import ReadPool
from tests.support import POSTGRES_ADMIN_URL, fresh_postgres_url, postgres_reachable

if not postgres_reachable():
    if os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; CI needs it", allow_module_level=True)
    pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432", allow_module_level=True)

DSN = POSTGRES_ADMIN_URL


async def backend_alive(pid: int) -> bool:
    conn = await asyncpg.connect(DSN)
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid))
    finally:
        await conn.close()


async def _not_alive(pid: int) -> bool:
    return not await backend_alive(pid)


async def until(check: Any, seconds: float = 3.0) -> bool:
    """Poll an async check until it holds or `seconds` pass."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# ------------------------------------------------------------------------ ReadPool


async def test_callers_beyond_its_size_wait_their_turn_and_all_are_served():
    pool = ReadPool(DSN, size=3, idle_seconds=5)
    try:
        results = await asyncio.gather(*(pool.fetch("SELECT pg_backend_pid(), pg_sleep(0.05)", []) for _ in range(12)))
        assert len(results) == 12
        assert len({rows[0][0] for rows in results}) <= 3
        assert pool.opened <= 3
    finally:
        await pool.close()


async def test_idle_connections_close_and_their_server_processes_end():
    pool = ReadPool(DSN, size=2, idle_seconds=0.2)
    try:
        pid = (await pool.fetch("SELECT pg_backend_pid()", []))[0][0]
        assert pool.opened == 1

        async def gone() -> bool:
            return pool.opened == 0 and not await backend_alive(pid)

        assert await until(gone)
        assert (await pool.fetch("SELECT 1", []))[0][0] == 1
    finally:
        await pool.close()


async def test_a_connection_the_server_ended_is_replaced_and_the_statement_run_again():
    pool = ReadPool(DSN, size=1, idle_seconds=5)
    admin = await asyncpg.connect(DSN)
    try:
        first = (await pool.fetch("SELECT pg_backend_pid()", []))[0][0]
        await admin.execute("SELECT pg_terminate_backend($1)", first)
        assert await until(lambda: _not_alive(first))

        second = (await pool.fetch("SELECT pg_backend_pid()", []))[0][0]

        assert second != first
        assert pool.opened == 1
    finally:
        await admin.close()
        await pool.close()


async def test_a_cancelled_statement_drops_its_connection_and_the_pool_goes_on():
    pool = ReadPool(DSN, size=1, idle_seconds=5)
    try:
        pid = (await pool.fetch("SELECT pg_backend_pid()", []))[0][0]
        running = asyncio.ensure_future(pool.fetch("SELECT pg_sleep(5)", []))
        await asyncio.sleep(0.2)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

        assert pool.opened == 0
        after = (await pool.fetch("SELECT pg_backend_pid()", []))[0][0]
        assert after != pid
    finally:
        await pool.close()


async def test_a_failing_statement_raises_and_the_next_one_runs():
    pool = ReadPool(DSN, size=1, idle_seconds=5)
    try:
        with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
            await pool.fetch("SELECT 1 / 0", [])
        assert pool.opened == 0
        assert (await pool.fetch("SELECT $1::int + 1", [41]))[0][0] == 42
    finally:
        await pool.close()


async def test_a_waiting_caller_cancelled_leaves_the_connection_to_the_others():
    pool = ReadPool(DSN, size=1, idle_seconds=5)
    try:
        busy = asyncio.ensure_future(pool.fetch("SELECT pg_sleep(0.3)", []))
        await asyncio.sleep(0.05)
        waiting = asyncio.ensure_future(pool.fetch("SELECT 1", []))
        await asyncio.sleep(0.05)
        waiting.cancel()
        await busy

        assert (await pool.fetch("SELECT 2", []))[0][0] == 2
        assert pool.opened == 1
    finally:
        await pool.close()


async def test_room_handed_to_a_caller_cancelled_at_that_moment_goes_to_the_next():
    """The only connection is dropped (its statement cancelled), which hands the room for
    a new one to the first waiter; that waiter is cancelled before it runs. The second
    waiter must get the room, not wait forever."""
    pool = ReadPool(DSN, size=1, idle_seconds=5)
    try:
        busy = asyncio.ensure_future(pool.fetch("SELECT pg_sleep(5)", []))
        await asyncio.sleep(0.1)
        first = asyncio.ensure_future(pool.fetch("SELECT 1", []))
        second = asyncio.ensure_future(pool.fetch("SELECT 2", []))
        await asyncio.sleep(0.05)

        busy.cancel()  # runs next: drops the connection and wakes `first`…
        asyncio.get_running_loop().call_soon(first.cancel)  # …which is cancelled before it runs

        assert (await asyncio.wait_for(second, 5))[0][0] == 2
        assert first.cancelled() and busy.cancelled()
    finally:
        await pool.close()


async def test_a_closed_pool_closes_its_connections_and_refuses_statements():
    pool = ReadPool(DSN, size=2, idle_seconds=5)
    pid = (await pool.fetch("SELECT pg_backend_pid()", []))[0][0]

    await pool.close()

    assert pool.opened == 0
    assert await until(lambda: _not_alive(pid))
    with pytest.raises(asyncpg.exceptions.InterfaceError):
        await pool.fetch("SELECT 1", [])


# -------------------------------------------------------------------------- Lookup

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("item_id", Integer, primary_key=True),
    Column("key", String(20), nullable=False),
    Column("owner", String(20), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
BY_KEY = Lookup(
    lambda condition: (
        select(items)
        .where(condition, items.c.owner == bindparam("owner"), items.c.expires_at > bindparam("now"))
        .order_by(items.c.item_id)
    ),
    items.c.key,
    "key",
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def items_database() -> str:
    """A database with items k0…k9 of owner `a` (k3 twice, no k5) and one k1 of owner `b`."""
    url = fresh_postgres_url(f"keystile_read_path_{os.getpid()}")

    async def fill() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TABLE items (item_id int PRIMARY KEY, key varchar(20) NOT NULL,"
                " owner varchar(20) NOT NULL, expires_at timestamptz NOT NULL)"
            )
            rows = [(n, f"k{n}", "a", NOW + timedelta(hours=1)) for n in range(10) if n != 5]
            rows += [(10, "k3", "a", NOW + timedelta(hours=1)), (11, "k1", "b", NOW + timedelta(hours=1))]
            rows += [(12, "soon", "a", NOW + timedelta(seconds=30))]
            await conn.executemany("INSERT INTO items VALUES ($1, $2, $3, $4)", rows)
        finally:
            await conn.close()

    asyncio.run(fill())
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


class CountingReads:
    """Counts the statements the read path sends (the reader's fetch, still run for real)."""

    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        reader = db._reader
        original = reader.fetch

        async def fetch(compiled: Any, params: list[Any]) -> list[Any]:
            self.statements.append(compiled.sql)
            return await original(compiled, params)

        reader.fetch = fetch


async def test_concurrent_lookups_run_as_one_statement_and_each_gets_its_own_rows(items_database):
    db = Database(items_database)
    try:
        alone = {
            key: [row.item_id for row in await db.lookup(BY_KEY, key, owner="a", now=NOW)]
            for key in ("k0", "k1", "k3", "k5", "k9")
        }
        counting = CountingReads(db)

        together = await asyncio.gather(
            *(db.lookup(BY_KEY, key, owner="a", now=NOW) for key in ("k0", "k1", "k3", "k5", "k9", "k1"))
        )

        assert len(counting.statements) == 1
        assert "ANY" in counting.statements[0]
        assert [[row.item_id for row in rows] for rows in together] == [
            alone["k0"],
            alone["k1"],
            alone["k3"],
            alone["k5"],
            alone["k9"],
            alone["k1"],
        ]
        assert alone == {"k0": [0], "k1": [1], "k3": [3, 10], "k5": [], "k9": [9]}
    finally:
        await db.dispose()


async def test_lookups_with_other_values_are_never_mixed(items_database):
    db = Database(items_database)
    try:
        counting = CountingReads(db)

        of_a, of_b, of_c = await asyncio.gather(
            db.lookup(BY_KEY, "k1", owner="a", now=NOW),
            db.lookup(BY_KEY, "k1", owner="b", now=NOW),
            db.lookup(BY_KEY, "k1", owner="c", now=NOW),
        )

        assert len(counting.statements) == 3
        assert [row.item_id for row in of_a] == [1]
        assert [row.item_id for row in of_b] == [11]
        assert of_c == []
    finally:
        await db.dispose()


async def test_a_batch_uses_the_latest_time_of_its_callers(items_database):
    """`soon` expires 30 s after NOW: alone, a lookup at NOW finds it; batched with one a
    minute later, it is expired for both (never alive for a caller it has expired for)."""
    db = Database(items_database)
    try:
        assert [row.item_id for row in await db.lookup(BY_KEY, "soon", owner="a", now=NOW)] == [12]

        earlier, later = await asyncio.gather(
            db.lookup(BY_KEY, "soon", owner="a", now=NOW),
            db.lookup(BY_KEY, "soon", owner="a", now=NOW + timedelta(minutes=1)),
        )

        assert earlier == [] and later == []
    finally:
        await db.dispose()


async def test_a_failing_batch_fails_every_caller_and_the_next_lookups_work(items_database):
    db = Database(items_database)
    try:
        lookups = [db.lookup(BY_KEY, key, owner="a", now="not a time") for key in ("k0", "k1")]
        outcomes = await asyncio.gather(*lookups, return_exceptions=True)

        assert all(isinstance(outcome, Exception) for outcome in outcomes)
        found = await asyncio.gather(*(db.lookup(BY_KEY, key, owner="a", now=NOW) for key in ("k0", "k1")))
        assert [[row.item_id for row in rows] for rows in found] == [[0], [1]]
    finally:
        await db.dispose()
