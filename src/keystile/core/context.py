"""Per-request context: the authenticated project, its transaction, the clock, the request id."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.engine import CursorResult, Dialect, ScalarResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncTransaction
from sqlalchemy.sql.base import Executable

from keystile import errors
from keystile.core import crypto, ratelimit
from keystile.core.clock import Clock, ShiftedClock
from keystile.core.db import Database, Lookup, Query, Record, RowT
from keystile.models.projects import project_secrets, projects

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import _CoreAnyExecuteParams, _CoreSingleExecuteParams
    from sqlalchemy.util.typing import TupleAny

    from keystile.core.state import AppState


_NO_SHIFT = timedelta(0)


@dataclass(frozen=True, slots=True)
class Project:
    project_id: str
    name: str
    live: bool
    public_token: str
    # How far a test project moved its own clock (`keystile clock advance`); zero for most.
    clock_offset: timedelta = _NO_SHIFT

    @classmethod
    def from_row(cls, row: Record) -> Project:
        """A `projects` row (or a row with its columns) as the request's Project."""
        offset = row.clock_offset_seconds
        return cls(
            row.project_id, row.name, row.live, row.public_token, timedelta(seconds=offset) if offset else _NO_SHIFT
        )


@dataclass(slots=True)
class Context:
    state: AppState
    conn: LazyConnection
    project: Project
    request_id: str
    # The request's headers, case-insensitive (Starlette's `Headers`, decoded as read).
    headers: Mapping[str, str] = field(default_factory=dict)
    after_commit: list[Any] = field(default_factory=list)
    # The time of this request: the server's clock, moved by the project's offset if it has
    # one (never on a production server, which ignores an offset stored before).
    clock: Clock = field(init=False)

    def __post_init__(self) -> None:
        offset = self.project.clock_offset
        if offset and self.state.settings.dev:
            self.clock = ShiftedClock(self.state.clock, offset)
        else:
            self.clock = self.state.clock

    @property
    def project_id(self) -> str:
        return self.project.project_id

    async def read_one(self, query: Query[RowT], **values: Any) -> RowT | None:
        """A read-only lookup (core/db.py read path); inside the request's transaction
        once one is open, so it sees the request's own writes."""
        return await self.state.db.read_one(query, conn=self.conn.open_connection, **values)

    async def read_all(self, query: Query[RowT], **values: Any) -> list[RowT]:
        return await self.state.db.read_all(query, conn=self.conn.open_connection, **values)

    async def lookup(self, lookup: Lookup[RowT], key: Any, **values: Any) -> list[RowT]:
        """The rows of a keyed read-path lookup (`Database.lookup`), batched with
        concurrent requests' on PostgreSQL."""
        return await self.state.db.lookup(lookup, key, conn=self.conn.open_connection, **values)

    @property
    def live(self) -> bool:
        return self.project.live


def _basic_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise errors.UnauthorizedCredentials()
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise errors.UnauthorizedCredentials() from None
    project_id, sep, secret = decoded.partition(":")
    # A NUL cannot name a stored project, and PostgreSQL refuses it in a query parameter.
    if not sep or not project_id or not secret or "\x00" in project_id:
        raise errors.UnauthorizedCredentials()
    return project_id, secret


class ProjectCache:
    """(database, project id, secret hash) → Project, for one second; failures never stored.

    Project authentication runs on every request and a project's secrets change rarely
    (CLI). One second bounds how long a removed secret keeps working in a running server;
    a wrong secret is looked up every time, so a new secret works at once. The project's
    clock offset comes with it, so a moved clock reaches every process within that second
    (`keystile clock advance` waits it out; clock/service.py).
    """

    TTL_SECONDS = 1.0
    MAX_ITEMS = 10_000

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], tuple[Project, float]] = {}

    def get(self, key: tuple[str, str, str]) -> Project | None:
        found = self._items.get(key)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, key: tuple[str, str, str], project: Project, read_at: float) -> None:
        """Keep `project`, read from the database at `read_at` (`time.monotonic()` taken
        before the read), for TTL_SECONDS from then: no entry outlives a change made
        before its read by more than TTL_SECONDS."""
        if len(self._items) >= self.MAX_ITEMS:
            self._items.clear()
        self._items[key] = (project, read_at + self.TTL_SECONDS)

    def forget(self, project_id: str) -> None:
        """Drop the project's entries, so this process reads it again at its next request."""
        for key in [k for k in self._items if k[1] == project_id]:
            del self._items[key]


_projects = ProjectCache()

PROJECT_SECRETS = Query(
    select(
        projects.c.project_id,
        projects.c.name,
        projects.c.live,
        projects.c.public_token,
        projects.c.clock_offset_seconds,
        project_secrets.c.secret_hash,
    )
    .join(project_secrets, project_secrets.c.project_id == projects.c.project_id)
    .where(projects.c.project_id == bindparam("project_id"))
)


async def authenticate_project(db: Database, project_id: str, secret: str) -> Project:
    secret_hash = crypto.hash_token(secret)
    key = (db.url, project_id, secret_hash)
    project = _projects.get(key)
    if project is not None:
        return project
    read_at = time.monotonic()
    rows = await db.read_all(PROJECT_SECRETS, project_id=project_id)
    # Compare against every stored secret so timing does not reveal which one matched.
    ok = False
    for row in rows:
        ok |= hmac.compare_digest(secret_hash, row.secret_hash)
    if not ok:
        raise errors.UnauthorizedCredentials()
    project = Project.from_row(rows[0])
    _projects.put(key, project, read_at)
    return project


PROJECT_BY_PUBLIC_TOKEN = Query(
    select(
        projects.c.project_id,
        projects.c.name,
        projects.c.live,
        projects.c.public_token,
        projects.c.clock_offset_seconds,
    ).where(projects.c.public_token == bindparam("public_token"))
)


async def public_project(db: Database, public_token: str) -> Project | None:
    """The project of a public token, for the browser-facing routes (which carry no secret)."""
    row = await db.read_one(PROJECT_BY_PUBLIC_TOKEN, public_token=public_token)
    return Project.from_row(row) if row is not None else None


def forget_project(project_id: str) -> None:
    """This process reads the project (and its clock) again at its next request."""
    _projects.forget(project_id)


class LazyConnection:
    """The request's transaction, begun by its first statement.

    SQLAlchemy's own connections begin a transaction at their first statement; the
    request does the same one level up, so a request that only reads through the read
    path (`Database.read_one`) never takes SQLite's write lock nor checks a connection
    out of the pool. Offers what request code uses: execute, scalar, scalars,
    begin_nested and dialect.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._stack: AsyncExitStack | None = None
        self._conn: AsyncConnection | None = None

    @property
    def dialect(self) -> Dialect:
        return self._db.dialect

    @property
    def open_connection(self) -> AsyncConnection | None:
        """The transaction's connection if a statement has begun it, else None."""
        return self._conn

    async def begin(self) -> AsyncConnection:
        if self._conn is None:
            stack = AsyncExitStack()
            self._conn = await stack.enter_async_context(self._db.transaction())
            self._stack = stack
        return self._conn

    async def execute(
        self, statement: Executable, parameters: _CoreAnyExecuteParams | None = None
    ) -> CursorResult[*TupleAny]:
        return await (await self.begin()).execute(statement, parameters)

    async def scalar(self, statement: Executable, parameters: _CoreSingleExecuteParams | None = None) -> Any:
        return await (await self.begin()).scalar(statement, parameters)

    async def scalars(
        self, statement: Executable, parameters: _CoreSingleExecuteParams | None = None
    ) -> ScalarResult[Any]:
        return await (await self.begin()).scalars(statement, parameters)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[AsyncTransaction]:
        async with (await self.begin()).begin_nested() as savepoint:
            yield savepoint

    async def end(self, exc: BaseException | None) -> None:
        """Commit if nothing failed, else roll back; nothing to do if nothing ran."""
        stack, self._stack, self._conn = self._stack, None, None
        if stack is None:
            return
        if exc is None:
            await stack.aclose()
        else:
            await stack.__aexit__(type(exc), exc, exc.__traceback__)


async def open_context(request: Request) -> Context:
    """Authenticate the project (401s), refuse the request if the project's cap (when one
    is set) is used up, and give the request's Context; its transaction begins at its
    first statement."""
    state: AppState = request.app.state.keystile
    project_id, secret = _basic_credentials(request)
    project = await authenticate_project(state.db, project_id, secret)
    ctx = Context(
        state=state,
        conn=LazyConnection(state.db),
        project=project,
        request_id=request.state.request_id,
        headers=request.headers,
    )
    await ratelimit.check_project(ctx)
    return ctx


async def close_context(ctx: Context, exc: BaseException | None) -> None:
    """Commit (then run the after-commit callbacks, awaiting those that return an awaitable,
    before the response is sent) when the request succeeded, else roll back; a request whose
    input validated counts against the project's cap, if one is set."""
    await ctx.conn.end(exc)
    if exc is None:
        for callback in ctx.after_commit:
            pending = callback()
            if pending is not None:
                await pending
    if exc is None or (isinstance(exc, Exception) and not isinstance(exc, RequestValidationError)):
        await ratelimit.count_project(ctx)


async def get_context(request: Request) -> AsyncIterator[Context]:
    ctx = await open_context(request)
    try:
        yield ctx
    except BaseException as exc:
        await close_context(ctx, exc)
        raise
    await close_context(ctx, None)


# `scope="function"`: the transaction commits before the response is sent, so a client
# never sees a success whose writes could still be lost.
Ctx = Annotated[Context, Depends(get_context, scope="function")]
