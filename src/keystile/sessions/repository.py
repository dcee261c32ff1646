"""Sessions in the database: the one definition of a live session, the lookups that find
one (by token, by JWT, by id) and every write to the table. Services hold no SQL.

A session is live while it belongs to the project asking, is of the kind asked for (a B2B
session is never a consumer one), is not revoked and has not expired (`live`). Every
lookup is a `Lookup` (core/db.py): on the read path, outside any transaction, shared by
concurrent requests on PostgreSQL (ADR 0008); inside a request's transaction once one is
open.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, cast

from sqlalchemy import and_, bindparam, delete, exists, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystile.core import keys
from keystile.core.db import Lookup, Row
from keystile.models.organizations import member_retired_emails, members, organizations
from keystile.models.sessions import sessions
from keystile.models.users import user_emails, users
from keystile.users.repository import HAS_PHONE_NUMBERS, HAS_TOTPS

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from keystile.core.context import LazyConnection

Kind = Literal["b2b", "consumer"]
# What names a session: its token (stored hashed), a JWT (the session id it carries, read
# with the key it names), or its id.
By = Literal["token", "jwt", "id"]
Conn: TypeAlias = "AsyncConnection | LazyConnection"

# last_accessed_at moves in steps of this much: a busy session is not a write per read.
TOUCH_INTERVAL = timedelta(seconds=60)


class SessionRow(Protocol):
    """A row of `sessions`, from either read path or from a write's RETURNING."""

    @property
    def session_id(self) -> str: ...
    @property
    def project_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def token_hash(self) -> str: ...
    @property
    def member_id(self) -> str | None: ...
    @property
    def organization_id(self) -> str | None: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def authentication_factors(self) -> list[dict[str, Any]]: ...
    @property
    def custom_claims(self) -> dict[str, Any]: ...
    @property
    def attributes(self) -> dict[str, str]: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def last_accessed_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def revoked_at(self) -> datetime | None: ...


def live(condition: ColumnElement[bool]) -> tuple[ColumnElement[bool], ...]:
    """The one definition of a live session: `condition`, of the project (`:project_id`),
    of the kind (`:kind`), not revoked, not expired at `:now`."""
    return (
        condition,
        sessions.c.project_id == bindparam("project_id"),
        sessions.c.kind == bindparam("kind"),
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > bindparam("now"),
    )


# The column a session is looked up by, and the name of its value.
_KEYS: dict[By, tuple[Any, str]] = {
    "token": (sessions.c.token_hash, "token_hash"),
    "jwt": (sessions.c.session_id, "session_id"),
    "id": (sessions.c.session_id, "session_id"),
}
# By JWT, the public key the JWT names rides along (the first columns: a Row of their
# own), so its signature is checked after one statement, not two (ADR 0009).
_KEY_NAMED: dict[By, tuple[Any, ...]] = {"token": (), "jwt": keys.named_key_columns(), "id": ()}
# The project's signing kid rides along, so the JWT cache can be checked without another
# round trip (sessions/jwts.py reads it per mint so that a rotation takes effect at once).
SIGNING_KID = keys.current_kid_column()
# Whether the member has retired addresses (an email change): rare, so the lookup only
# says whether to read them, and the common case stays one statement.
HAS_RETIRED_EMAILS = (
    exists()
    .where(
        member_retired_emails.c.member_id == members.c.member_id,
        member_retired_emails.c.project_id == members.c.project_id,
    )
    .label("has_retired_emails")
)


def _session(by: By) -> Lookup:
    return Lookup(lambda c: select(*_KEY_NAMED[by], sessions).where(*live(c)), *_KEYS[by], per_table=True)


def _member_session(by: By) -> Lookup:
    return Lookup(
        lambda c: (
            select(*_KEY_NAMED[by], sessions, members, organizations, SIGNING_KID, HAS_RETIRED_EMAILS)
            .join(members, members.c.member_id == sessions.c.member_id)
            .join(organizations, organizations.c.organization_id == members.c.organization_id)
            .where(
                *live(c),
                members.c.project_id == bindparam("project_id"),
                # A literal, not a parameter: SQLite re-prepares a statement on every run when a
                # bound value could decide whether a partial index (status <> 'deleted') applies.
                members.c.status != literal_column("'deleted'"),
            )
        ),
        *_KEYS[by],
        per_table=True,
    )


def _user_session(by: By) -> Lookup:
    # The user's emails come along, one row per email (a user has at least one; the outer
    # join keeps a user without any): one statement instead of two. Phone numbers and TOTPs
    # are rarer: the row only says whether there are any (read after, only then).
    return Lookup(
        lambda c: (
            select(
                *_KEY_NAMED[by],
                sessions,
                users,
                SIGNING_KID,
                HAS_PHONE_NUMBERS,
                HAS_TOTPS,
                user_emails.c.email_id,
                user_emails.c.email,
                user_emails.c.verified,
            )
            .join(users, users.c.user_id == sessions.c.user_id)
            .outerjoin(
                user_emails,
                and_(user_emails.c.user_id == users.c.user_id, user_emails.c.project_id == bindparam("project_id")),
            )
            .where(*live(c), users.c.project_id == bindparam("project_id"))
            .order_by(user_emails.c.created_at, user_emails.c.email_id)
        ),
        *_KEYS[by],
        per_table=True,
    )


_BYS: tuple[By, ...] = ("token", "jwt", "id")
# The live session alone; with its member and organization (a deleted member's session is
# not found); with its user and the user's emails.
SESSION: dict[By, Lookup] = {by: _session(by) for by in _BYS}
MEMBER_SESSION: dict[By, Lookup] = {by: _member_session(by) for by in _BYS}
USER_SESSION: dict[By, Lookup] = {by: _user_session(by) for by in _BYS}


def touched(row: SessionRow, now: datetime) -> SessionRow:
    """The row as it reads once its touch has landed."""
    return cast(SessionRow, cast(Row, row).replace(last_accessed_at=now))


def touch_due(row: SessionRow, now: datetime) -> bool:
    return row.last_accessed_at < now - TOUCH_INTERVAL


async def insert_session(conn: Conn, **values: Any) -> SessionRow:
    return cast(SessionRow, (await conn.execute(insert(sessions).values(**values).returning(sessions))).one())


async def find_by_hash(conn: Conn, project_id: str, token_hash: str) -> SessionRow | None:
    """The session stored under this token hash, live or not (the sandbox session, sessions/sandbox.py)."""
    row = (
        await conn.execute(
            select(sessions).where(sessions.c.token_hash == token_hash, sessions.c.project_id == project_id)
        )
    ).first()
    return cast(SessionRow | None, row)


async def delete_session(conn: Conn, project_id: str, session_id: str) -> None:
    await conn.execute(delete(sessions).where(sessions.c.session_id == session_id, sessions.c.project_id == project_id))


async def update_live(conn: Conn, project_id: str, session_id: str, **values: Any) -> SessionRow | None:
    """Change an unrevoked session; None if it was revoked meanwhile."""
    row = (
        await conn.execute(
            update(sessions)
            .where(
                sessions.c.session_id == session_id,
                sessions.c.project_id == project_id,
                sessions.c.revoked_at.is_(None),
            )
            .values(**values)
            .returning(sessions)
        )
    ).first()
    return cast(SessionRow | None, row)


async def touch(conn: AsyncConnection, project_id: str, session_id: str, now: datetime) -> bool:
    """Move last_accessed_at to `now` unless it moved less than TOUCH_INTERVAL before:
    of several processes touching at once, one writes, the others change nothing."""
    done = await conn.execute(
        update(sessions)
        .where(
            sessions.c.session_id == session_id,
            sessions.c.project_id == project_id,
            sessions.c.revoked_at.is_(None),
            sessions.c.last_accessed_at < now - TOUCH_INTERVAL,
        )
        .values(last_accessed_at=now)
    )
    return bool(done.rowcount)


async def revoke(conn: Conn, project_id: str, session_id: str, now: datetime) -> bool:
    """Revoke one session; False if it was revoked already."""
    done = await conn.execute(
        update(sessions)
        .where(
            sessions.c.session_id == session_id,
            sessions.c.project_id == project_id,
            sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(sessions.c.session_id)
    )
    return done.first() is not None


async def revoke_all(
    conn: Conn,
    project_id: str,
    now: datetime,
    *,
    member_id: str | None = None,
    user_id: str | None = None,
    keep: str | None = None,
) -> list[str]:
    """Revoke every session of a member or of a user (but the session `keep`); the ids revoked."""
    subject = sessions.c.member_id == member_id if member_id else sessions.c.user_id == user_id
    where = [subject, sessions.c.project_id == project_id, sessions.c.revoked_at.is_(None)]
    if keep is not None:
        where.append(sessions.c.session_id != keep)
    rows = await conn.execute(update(sessions).where(*where).values(revoked_at=now).returning(sessions.c.session_id))
    return [row.session_id for row in rows]


async def list_live(
    conn: Conn,
    project_id: str,
    kind: Kind,
    now: datetime,
    *,
    member_id: str | None = None,
    organization_id: str | None = None,
    user_id: str | None = None,
) -> list[SessionRow]:
    """The live sessions of a member of an organization, or of a user, newest first."""
    subject = (
        and_(sessions.c.member_id == member_id, sessions.c.organization_id == organization_id)
        if kind == "b2b"
        else sessions.c.user_id == user_id
    )
    rows = await conn.execute(
        select(sessions).where(*live(subject)).order_by(sessions.c.started_at.desc()),
        {"project_id": project_id, "kind": kind, "now": now},
    )
    return cast(list[SessionRow], list(rows))
