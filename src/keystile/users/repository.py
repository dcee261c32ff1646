"""Queries on users and their emails; every one scoped by project."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql import ColumnElement

from keystile.core.db import Connection
from keystile.core.tokens import TokenKind
from keystile.models.tokens import tokens
from keystile.models.users import user_emails, users


async def find_user(conn: Connection, project_id: str, user_id: str) -> Row[Any] | None:
    """A user by `user_id`, or by the `external_id` the app set on it."""
    rows = (
        await conn.execute(
            select(users).where(
                users.c.project_id == project_id,
                or_(users.c.user_id == user_id, users.c.external_id == user_id),
            )
        )
    ).all()
    # A user_id wins over an external_id that happens to spell it.
    return next((r for r in rows if r.user_id == user_id), rows[0] if rows else None)


async def emails_of(conn: Connection, project_id: str, user_ids: Iterable[str]) -> dict[str, list[Row[Any]]]:
    ids = list(user_ids)
    found: dict[str, list[Row[Any]]] = {user_id: [] for user_id in ids}
    if not ids:
        return found
    rows = await conn.execute(
        select(user_emails)
        .where(user_emails.c.project_id == project_id, user_emails.c.user_id.in_(ids))
        .order_by(user_emails.c.created_at, user_emails.c.email_id)
    )
    for row in rows:
        found[row.user_id].append(row)
    return found


async def find_email(conn: Connection, project_id: str, normalized: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(user_emails).where(
                user_emails.c.project_id == project_id, user_emails.c.email_normalized == normalized
            )
        )
    ).first()


async def get_email(conn: Connection, project_id: str, email_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(user_emails).where(user_emails.c.project_id == project_id, user_emails.c.email_id == email_id)
        )
    ).first()


async def external_id_owner(conn: Connection, project_id: str, external_id: str) -> str | None:
    return (
        await conn.execute(
            select(users.c.user_id).where(users.c.project_id == project_id, users.c.external_id == external_id)
        )
    ).scalar()


async def insert_user(conn: Connection, values: dict[str, Any]) -> Row[Any]:
    return (await conn.execute(insert(users).values(**values).returning(users))).one()


async def insert_email(conn: Connection, values: dict[str, Any]) -> Row[Any]:
    return (await conn.execute(insert(user_emails).values(**values).returning(user_emails))).one()


async def update_user(conn: Connection, project_id: str, user_id: str, values: dict[str, Any]) -> Row[Any]:
    return (
        await conn.execute(
            update(users)
            .where(users.c.project_id == project_id, users.c.user_id == user_id)
            .values(**values)
            .returning(users)
        )
    ).one()


async def verify_email(conn: Connection, project_id: str, email_id: str) -> None:
    await conn.execute(
        update(user_emails)
        .where(user_emails.c.project_id == project_id, user_emails.c.email_id == email_id)
        .values(verified=True)
    )


async def delete_email(conn: Connection, project_id: str, email_id: str) -> None:
    await conn.execute(
        delete(user_emails).where(user_emails.c.project_id == project_id, user_emails.c.email_id == email_id)
    )


async def delete_user(conn: Connection, project_id: str, user_id: str) -> None:
    # Emails and sessions go with the user (ON DELETE CASCADE).
    await conn.execute(delete(users).where(users.c.project_id == project_id, users.c.user_id == user_id))


async def void_links(
    conn: Connection,
    project_id: str,
    now: datetime,
    *,
    user_id: str | None = None,
    email_id: str | None = None,
) -> int:
    """Make a user's (or one email's) outstanding consumer magic links unusable."""
    condition = tokens.c.user_id == user_id if user_id else tokens.c.email_id == email_id
    result = await conn.execute(
        update(tokens)
        .where(
            condition,
            tokens.c.project_id == project_id,
            tokens.c.kind == TokenKind.CONSUMER_MAGIC_LINK.value,
            tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return result.rowcount or 0


async def count(conn: Connection, project_id: str, condition: ColumnElement[bool] | None) -> int:
    query = select(func.count()).select_from(users).where(users.c.project_id == project_id)
    if condition is not None:
        query = query.where(condition)
    return int((await conn.execute(query)).scalar() or 0)
