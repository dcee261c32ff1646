"""Every statement on `passwords` (models/passwords.py); scoped by project. A password belongs
to a consumer User (`user_id`) or to a B2B Member (`member_id`): `Owner` names which."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from keystile.core import db
from keystile.core.db import Connection
from keystile.members import repository as members
from keystile.models.passwords import passwords
from keystile.users import repository as users


@dataclass(frozen=True)
class Owner:
    """Whose password: a User's (`user_id`) or a Member's (`member_id`)."""

    user_id: str | None = None
    member_id: str | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.member_id is None):
            raise ValueError("a password belongs to a user or to a member")

    @property
    def column(self) -> Any:
        return passwords.c.user_id if self.user_id else passwords.c.member_id

    @property
    def id(self) -> str:
        return self.user_id or self.member_id or ""


def user(user_id: str) -> Owner:
    return Owner(user_id=user_id)


def member(member_id: str) -> Owner:
    return Owner(member_id=member_id)


async def find(conn: Connection, project_id: str, owner: Owner) -> Row[Any] | None:
    """The owner's password row, or None."""
    return (
        await conn.execute(select(passwords).where(passwords.c.project_id == project_id, owner.column == owner.id))
    ).first()


async def get(conn: Connection, project_id: str, password_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(passwords).where(passwords.c.project_id == project_id, passwords.c.password_id == password_id)
        )
    ).first()


async def _mirror(
    conn: Connection, project_id: str, owner: Owner, password_id: str | None, requires_reset: bool
) -> None:
    """Keep the owner row's copy (User.password, Member.member_password_id) in step."""
    if owner.user_id:
        await users.set_password(conn, project_id, owner.user_id, password_id, requires_reset=requires_reset)
    else:
        await members.set_password_id(conn, project_id, owner.id, password_id)


async def put(
    conn: Connection,
    project_id: str,
    owner: Owner,
    *,
    password_id: str,
    scheme: str,
    hash: str,
    config: dict[str, Any] | None,
    now: datetime,
    requires_reset: bool = False,
) -> Row[Any]:
    """Set the owner's password, replacing any it had: the old row goes, the new one (a new
    `password_id`) is written, and the owner row points at it."""
    await conn.execute(delete(passwords).where(passwords.c.project_id == project_id, owner.column == owner.id))
    row = (
        await conn.execute(
            insert(passwords)
            .values(
                password_id=password_id,
                project_id=project_id,
                user_id=owner.user_id,
                member_id=owner.member_id,
                scheme=scheme,
                hash=hash,
                config=config,
                requires_reset=requires_reset,
                created_at=now,
                updated_at=now,
            )
            .returning(passwords)
        )
    ).one()
    await _mirror(conn, project_id, owner, password_id, requires_reset)
    return row


async def rehash(
    conn: Connection, project_id: str, password_id: str, *, old_hash: str, hash: str, now: datetime
) -> None:
    """Replace a verified hash by keystile's own (same password, same id). Conditional on the
    hash read: a password changed in between is left alone."""
    await conn.execute(
        update(passwords)
        .where(
            passwords.c.project_id == project_id, passwords.c.password_id == password_id, passwords.c.hash == old_hash
        )
        .values(scheme="argon2id", hash=hash, config=None, updated_at=now)
    )


async def set_requires_reset(
    conn: Connection, project_id: str, owner: Owner, requires_reset: bool, now: datetime
) -> bool:
    """Mark (or clear) the owner's password as needing a reset; False when it has none."""
    result = await conn.execute(
        update(passwords)
        .where(passwords.c.project_id == project_id, owner.column == owner.id)
        .values(requires_reset=requires_reset, updated_at=now)
        .returning(passwords.c.password_id)
    )
    password_id = result.scalar()
    if password_id is None:
        return False
    await _mirror(conn, project_id, owner, password_id, requires_reset)
    return True


async def remove(conn: Connection, project_id: str, owner: Owner) -> bool:
    """Delete the owner's password; False when it had none."""
    result = await conn.execute(delete(passwords).where(passwords.c.project_id == project_id, owner.column == owner.id))
    await _mirror(conn, project_id, owner, None, False)
    return bool(result.rowcount)


async def put_new_for_users(conn: Connection, project_id: str, rows: list[dict[str, Any]], now: datetime) -> None:
    """Give Users that have no password yet theirs, many in two statements (`keystile import`):
    `rows` of `password_id`, `user_id`, `scheme`, `hash`, `config`; User.password follows."""
    if not rows:
        return
    await conn.execute(
        insert(passwords),
        [
            {
                "password_id": row["password_id"],
                "project_id": project_id,
                "user_id": row["user_id"],
                "member_id": None,
                "scheme": row["scheme"],
                "hash": row["hash"],
                "config": row["config"],
                "requires_reset": False,
                "created_at": now,
                "updated_at": now,
            }
            for row in rows
        ],
    )
    await users.mirror_passwords(conn, project_id, [row["user_id"] for row in rows])


async def refresh_statistics(conn: Connection) -> None:
    """The planner's statistics of `passwords`, after a bulk load (core/db.py)."""
    await db.refresh_statistics(conn, passwords)
