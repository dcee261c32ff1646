"""Engines, transactions and the read path. One request or one CLI command is one transaction.

Writes go through SQLAlchemy (`Database.transaction()`). A few hot, read-only lookups
(project authentication, `sessions.authenticate`) go through `Database.read_one()`: the
same SQLAlchemy Core statement, compiled once per dialect and run on the bare driver, with
no transaction around it. On this machine one session
lookup costs ~22 µs with stdlib sqlite3 against ~214 µs through SQLAlchemy + aiosqlite,
and ~156 µs with asyncpg against ~717 µs through SQLAlchemy + asyncpg. Session lookups
are `Lookup`s (`Database.lookup()`), which concurrent requests share on PostgreSQL
(ADR 0008).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, overload

import orjson
from sqlalchemy import JSON, LABEL_STYLE_TABLENAME_PLUS_COL, ColumnElement, Select, Table, any_, bindparam, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import CursorResult, Dialect, ScalarResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.base import Executable

from keystile.core.readpool import ReadPool
from keystile.core.writebehind import WriteBehind

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import _CoreAnyExecuteParams, _CoreSingleExecuteParams
    from sqlalchemy.util.typing import TupleAny

# PostgreSQL connections one process may hold (KEYSTILE_DATABASE_CONNECTIONS): 30 by
# default, 8 of them for the read path's own pool and 22 for transactions; a smaller
# budget is split in the same proportion.
DEFAULT_CONNECTIONS = 30
MAX_READ_CONNECTIONS = 8
# Idle read connections close after half a minute, so a process at rest holds none. Under
# steady load the least recently used of them can sit idle for a few seconds at a time:
# closing them after 2 s opened a new backend every second or so (a fork, start-up and
# type introspection each), measured in bench/README.md.
READ_IDLE_SECONDS = 30.0


def split_connections(total: int) -> tuple[int, int]:
    """(transaction connections, read connections) out of a process's budget."""
    if total < 2:
        raise ValueError("a process needs at least 2 database connections")
    read = max(1, min(MAX_READ_CONNECTIONS, (total * MAX_READ_CONNECTIONS + 15) // DEFAULT_CONNECTIONS))
    return total - read, read


def make_engine(url: str, transaction_connections: int = split_connections(DEFAULT_CONNECTIONS)[0]) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _sqlite_write_transactions(engine)
        return engine
    # Every transaction connection stays in the pool once opened: with ten kept and the
    # rest as overflow, each overflow connection was closed when it came back and opened
    # again for the next request, and 32 concurrent magic-link sends ran a third slower
    # (bench/README.md, log row 27).
    return create_async_engine(
        url,
        pool_size=transaction_connections,
        max_overflow=0,
        pool_pre_ping=False,
    )


def sqlite_path(url: str) -> str:
    return url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""


def _sqlite_pragmas(dbapi_connection: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_write_transactions(engine: AsyncEngine) -> None:
    """Every SQLite transaction takes the write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes can fail with SQLITE_BUSY at once
    when another connection wrote in between; an immediate one waits its turn instead,
    so concurrent requests serialize cleanly. WAL lets readers of other processes (the
    CLI, a second server) keep reading meanwhile.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Connection(Protocol):
    """What repositories and services use of a connection: SQLAlchemy's `AsyncConnection`
    (a CLI command's or a background task's transaction) or the request's `LazyConnection`
    (core/context.py), which opens its transaction at the first statement."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(
        self, statement: Executable, parameters: _CoreAnyExecuteParams | None = None
    ) -> CursorResult[*TupleAny]: ...

    async def scalar(self, statement: Executable, parameters: _CoreSingleExecuteParams | None = None) -> Any: ...

    async def scalars(
        self, statement: Executable, parameters: _CoreSingleExecuteParams | None = None
    ) -> ScalarResult[Any]: ...

    def begin_nested(self) -> AbstractAsyncContextManager[object]: ...


async def refresh_statistics(conn: Connection, *tables: Table) -> None:
    """ANALYZE these tables on PostgreSQL, nothing on SQLite. A bulk load (`keystile import`)
    outgrows the planner's row counts long before autovacuum looks again: planned for the
    few rows there were, a lookup by (project_id, email) reads every row of the project."""
    if conn.dialect.name == "postgresql" and tables:
        await conn.execute(text("ANALYZE " + ", ".join(table.name for table in tables)))


class Record(Protocol):
    """A result row, read by column name (`row.member_id`), whichever path it came from:
    SQLAlchemy's `Row` (statements in a transaction) or the read path's `Row` below.
    Serializers and checks that take rows from both paths take a `Record`."""

    def __getattr__(self, name: str) -> Any: ...


class Row(tuple[Any, ...]):
    """A read-path result row: a tuple with attribute access, like SQLAlchemy's Row. The
    read path returns these whether it ran on its own connections or in a transaction."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    if TYPE_CHECKING:
        # Columns are properties made per statement (`of`); to a type checker, any name.
        def __getattr__(self, name: str) -> Any: ...

    @classmethod
    def of(cls, fields: tuple[str, ...]) -> type[Row]:
        attributes: dict[str, Any] = {"__slots__": (), "_fields": fields}
        attributes.update((name, property(itemgetter(i))) for i, name in enumerate(fields))
        return type("Row", (cls,), attributes)

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))

    def replace(self, **changes: Any) -> Row:
        """A copy with the named columns changed."""
        return type(self)(changes.get(name, value) for name, value in zip(self._fields, self, strict=True))


# What one result row of a read-path query is: a Row, or with `per_table` one Row per table.
RowT = TypeVar("RowT", Row, tuple[Row, ...])


class Query(Generic[RowT]):
    """A Core SELECT for the read path: compiled once per dialect, bound by name.

    Parameters are `bindparam`s; values go through the column types' bind processors and
    results through their result processors, so datetimes and JSON come back exactly as
    SQLAlchemy would return them. A `Query[Row]` gives one `Row` per result row; with
    `per_table=True`, a `Query[tuple[Row, ...]]` gives one `Row` per table joined.
    """

    @overload
    def __init__(self: Query[Row], statement: Select[Any], *, per_table: Literal[False] = False) -> None: ...

    @overload
    def __init__(self: Query[tuple[Row, ...]], statement: Select[Any], *, per_table: Literal[True]) -> None: ...

    @overload
    def __init__(self: Query[Any], statement: Select[Any], *, per_table: bool) -> None: ...

    def __init__(self, statement: Select[Any], *, per_table: bool = False) -> None:
        self.statement = statement
        self.per_table = per_table
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _Compiled(self.statement, dialect, self.per_table)
        return found


class Lookup(Generic[RowT]):
    """A read-path SELECT of the rows matching one key (`key == :name`), which concurrent
    requests share on PostgreSQL.

    `build(condition)` gives the statement for a key condition. Lookups of one `Lookup`
    with the same other values, started in the same turn of the event loop, run as one
    statement, `key = ANY(:name)`, and each caller gets the rows of its own key, in the
    statement's order: one round trip to the database for several requests. Values named
    in `latest` (the time a session must outlive) may differ between the callers; the
    batch uses the latest of them. On SQLite, and inside a transaction, a lookup is the
    plain one-key query.
    """

    @overload
    def __init__(
        self: Lookup[Row],
        build: Callable[..., Select[Any]],  # (key condition) -> statement
        key: ColumnElement[Any],
        name: str,
        *,
        per_table: Literal[False] = False,
        latest: tuple[str, ...] = ("now",),
    ) -> None: ...

    @overload
    def __init__(
        self: Lookup[tuple[Row, ...]],
        build: Callable[..., Select[Any]],  # (key condition) -> statement
        key: ColumnElement[Any],
        name: str,
        *,
        per_table: Literal[True],
        latest: tuple[str, ...] = ("now",),
    ) -> None: ...

    def __init__(
        self,
        build: Callable[..., Select[Any]],  # (key condition) -> statement
        key: ColumnElement[Any],
        name: str,
        *,
        per_table: bool = False,
        latest: tuple[str, ...] = ("now",),
    ) -> None:
        self.name = name
        self.latest = latest
        self.one: Query[RowT] = Query(build(key == bindparam(name)), per_table=per_table)
        self.many: Query[RowT] = Query(build(key == any_(bindparam(name, type_=ARRAY(key.type)))), per_table=per_table)
        positions = [i for i, c in enumerate(self.one.statement.selected_columns) if c is key]
        if not positions:
            raise ValueError(f"the lookup's statement must select its key column {key}")
        self.key_position = positions[0]


class _Batches:
    """The lookups waiting for this turn of the event loop to end, by (lookup, values)."""

    def __init__(
        self, run: Callable[[Lookup[Any], list[Any], dict[str, Any]], Awaitable[dict[Any, list[Any]]]]
    ) -> None:
        self._run = run  # async (lookup, keys, values) -> {key: rows}
        self._pending: dict[
            Hashable, tuple[Lookup[Any], dict[str, Any], list[tuple[Any, asyncio.Future[list[Any]]]]]
        ] = {}
        self._running: set[asyncio.Task[None]] = set()

    def add(self, lookup: Lookup[Any], key: Any, values: dict[str, Any]) -> asyncio.Future[list[Any]]:
        group = (lookup, *sorted((k, v) for k, v in values.items() if k not in lookup.latest))
        loop = asyncio.get_running_loop()
        pending = self._pending.get(group)
        if pending is None:
            pending = self._pending[group] = (lookup, dict(values), [])
            loop.call_soon(self._flush, group)
        else:
            shared = pending[1]
            for name in lookup.latest:
                if values[name] > shared[name]:
                    shared[name] = values[name]
        waiter: asyncio.Future[list[Any]] = loop.create_future()
        pending[2].append((key, waiter))
        return waiter

    def _flush(self, group: Hashable) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(*self._pending.pop(group)))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _answer(
        self, lookup: Lookup[Any], values: dict[str, Any], waiters: list[tuple[Any, asyncio.Future[list[Any]]]]
    ) -> None:
        try:
            found = await self._run(lookup, list(dict.fromkeys(key for key, _ in waiters)), values)
        except asyncio.CancelledError:
            for _, waiter in waiters:
                waiter.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - every caller of the batch gets its failure, whatever it is
            for _, waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for key, waiter in waiters:
            if not waiter.done():
                waiter.set_result(found.get(key, []))


class _Compiled:
    """SQL text, parameter order and converters of one Query on one dialect.

    With `per_table`, a row of `select(a, b, c)` comes back as a tuple of one Row per table
    (a, b, c), so a join returns the same rows as three separate lookups would; columns of
    no table (labels) that follow each other form one more Row."""

    def __init__(self, statement: Select[Any], dialect: Dialect, per_table: bool) -> None:
        if per_table:
            statement = statement.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        names = compiled.positiontup or []
        # Named bindparams come from the caller; literals of the statement (limits,
        # constants) keep the value they were written with.
        self.params: list[tuple[str, Callable[[Any], Any] | None, Any]] = [
            (
                name,
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
                _REQUIRED if compiled.binds[name].required else compiled.binds[name].effective_value,
            )
            for name in names
        ]
        columns = list(statement.selected_columns)
        self.per_table = per_table
        self.groups: list[tuple[int, int, type[Row]]] = []
        start = 0
        for i, column in enumerate(columns):
            last = i + 1 == len(columns)
            table = getattr(column, "table", None)
            if last or (per_table and getattr(columns[i + 1], "table", None) is not table):
                fields = tuple(c.name for c in columns[start : i + 1])
                self.groups.append((start, i + 1, Row.of(fields)))
                start = i + 1
        # Only the columns that need converting (datetimes, JSON) are touched per row.
        self.converters: list[tuple[int, Callable[[Any], Any]]] = []
        for i, column in enumerate(columns):
            ctype = column.type
            if isinstance(ctype, JSON) or isinstance(getattr(ctype, "impl", None), JSON):
                self.converters.append((i, _json))
            else:
                proc = ctype.dialect_impl(dialect).result_processor(dialect, None)
                if proc is not None:
                    self.converters.append((i, proc))

    def bind(self, values: dict[str, Any]) -> list[Any]:
        bound = []
        for name, proc, literal in self.params:
            value = values[name] if name in values or literal is _REQUIRED else literal
            bound.append(proc(value) if proc else value)
        return bound

    def row(self, raw: Sequence[Any]) -> Row | tuple[Row, ...]:
        values = list(raw)
        for i, convert in self.converters:
            values[i] = convert(values[i])
        if not self.per_table:
            return self.groups[0][2](values)
        return tuple(row_type(values[a:b]) for a, b, row_type in self.groups)


_REQUIRED = object()


def _json(value: Any) -> Any:
    return orjson.loads(value) if value.__class__ is str or value.__class__ is bytes else value


class _SQLiteReader:
    """One stdlib sqlite3 connection, used on the event loop itself.

    A point lookup by index on a WAL database takes tens of microseconds and never waits
    for writers, which is less than a hop to a worker thread costs. Each SELECT runs in
    autocommit, so it sees every transaction committed before it started.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    async def fetch(self, compiled: _Compiled, params: list[Any]) -> list[Any]:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            _sqlite_pragmas(self._conn)
        return self._conn.execute(compiled.sql, params).fetchall()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _PostgresReader:
    """The read path on PostgreSQL: its own few connections (`core/readpool.py`).

    No transaction, no reset between statements (the read path changes no session state),
    statements prepared once per connection by asyncpg. Its connections come out of the
    process's budget (`split_connections`), and idle ones close after READ_IDLE_SECONDS.

    Borrowing the engine's pooled connections instead was tried: cheaper one at a time
    (143 µs against 181 µs through `asyncpg.Pool`), but under 32 concurrent requests the
    engine's overflow connections were opened and closed per request (547 req/s against
    1,700).
    """

    def __init__(self, url: str, connections: int = MAX_READ_CONNECTIONS) -> None:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.pool = ReadPool(dsn, connections, READ_IDLE_SECONDS, init=self._init)

    @staticmethod
    async def _init(conn: Any) -> None:
        for name in ("json", "jsonb"):
            await conn.set_type_codec(name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog")

    async def fetch(self, compiled: _Compiled, params: list[Any]) -> list[Any]:
        return await self.pool.fetch(compiled.sql, params)

    async def close(self) -> None:
        await self.pool.close()


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


class Database:
    """The engine, how to open a transaction on it, and the read path.

    On SQLite one process runs one transaction at a time: an asyncio lock queues them in
    the process, so they never spin on SQLite's busy handler (which sleeps up to 100 ms
    per retry and made p99 latency hundreds of milliseconds under load). Other processes
    (the CLI, more workers) are still kept apart by BEGIN IMMEDIATE and the busy timeout.
    The read path takes neither the lock nor a transaction.
    """

    def __init__(self, url: str, connections: int = DEFAULT_CONNECTIONS) -> None:
        """`connections`: the most PostgreSQL connections this process holds at once."""
        self.url = url
        transaction_connections, read_connections = split_connections(connections)
        self.engine = make_engine(url, transaction_connections)
        self.dialect = self.engine.dialect
        self._lock = asyncio.Lock() if url.startswith("sqlite") else None
        self._reader: _SQLiteReader | _PostgresReader | None = None
        if url.startswith("sqlite"):
            path = sqlite_path(url)
            if path and path != ":memory:":
                self._reader = _SQLiteReader(path)
        elif url.startswith("postgresql+asyncpg"):
            self._reader = _PostgresReader(url, read_connections)
        self._batches = _Batches(self._lookup_many)
        # Writes no request waits for (core/writebehind.py), each in a transaction of its own.
        self.behind = WriteBehind(self.transaction)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """Commit once at the end, roll back on any error."""
        if self._lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._lock, self.engine.begin() as conn:
            yield conn

    async def read_all(self, query: Query[RowT], *, conn: AsyncConnection | None = None, **values: Any) -> list[RowT]:
        """The rows of a read-only query. Without `conn`, on the read path, outside any
        transaction; with one (a transaction already open), through it, so the query
        sees that transaction's own writes and holds no second connection."""
        compiled = query.compiled(self.dialect)
        params = compiled.bind(values)
        if conn is not None:
            raw = (await conn.exec_driver_sql(compiled.sql, tuple(params))).all()
        elif self._reader is None:  # in-memory SQLite: the engine's connection is the database
            async with self.engine.connect() as own:
                raw = (await own.exec_driver_sql(compiled.sql, tuple(params))).all()
        else:
            raw = await self._reader.fetch(compiled, params)
        rows: list[Any] = [compiled.row(r) for r in raw]  # RowT: the query's shape
        return rows

    async def lookup(
        self, lookup: Lookup[RowT], key: Any, *, conn: AsyncConnection | None = None, **values: Any
    ) -> list[RowT]:
        """The rows of `lookup` for `key`: batched with concurrent lookups on PostgreSQL's
        read path, else as `read_all` runs it."""
        if conn is not None or not isinstance(self._reader, _PostgresReader):
            return await self.read_all(lookup.one, conn=conn, **{lookup.name: key}, **values)
        return await self._batches.add(lookup, key, values)

    async def _lookup_many(self, lookup: Lookup[Any], keys: list[Any], values: dict[str, Any]) -> dict[Any, list[Any]]:
        assert self._reader is not None
        if len(keys) == 1:  # the one-key statement: the plan every lone request has used
            return {keys[0]: await self.read_all(lookup.one, **{lookup.name: keys[0]}, **values)}
        compiled = lookup.many.compiled(self.dialect)
        raw = await self._reader.fetch(compiled, compiled.bind({lookup.name: keys, **values}))
        found: defaultdict[Any, list[Any]] = defaultdict(list)
        at = lookup.key_position
        for r in raw:
            found[r[at]].append(compiled.row(r))
        return found

    async def read_one(self, query: Query[RowT], *, conn: AsyncConnection | None = None, **values: Any) -> RowT | None:
        """The first row of a read-only query, or None."""
        rows = await self.read_all(query, conn=conn, **values)
        return rows[0] if rows else None

    async def dispose(self) -> None:
        await self.behind.drain()
        if self._reader is not None:
            await self._reader.close()
        await self.engine.dispose()
