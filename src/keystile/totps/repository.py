"""Every SQL statement of TOTP registrations, a B2B Member's (`member_totps`) or a consumer
User's (`user_totps`): one table each, the same columns but for whose it is. A code is
accepted once: the step it was made for is recorded by one conditional UPDATE
(`last_step < :step`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Column, Table, delete, insert, or_, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.totps import member_totps, user_totps

Product = Literal["b2b", "consumer"]


def _table(product: Product) -> tuple[Table, Column[Any]]:
    """The product's table and the column naming whose registration a row is."""
    if product == "b2b":
        return member_totps, member_totps.c.member_id
    return user_totps, user_totps.c.user_id


async def create(conn: Connection, product: Product = "b2b", **values: Any) -> Row[Any]:
    totps, _ = _table(product)
    return (await conn.execute(insert(totps).values(**values).returning(totps))).one()


async def current(
    conn: Connection, project_id: str, owner_id: str, now: datetime, product: Product = "b2b"
) -> Row[Any] | None:
    """The owner's verified registration, else its newest pending one that has not expired."""
    rows = await live(conn, project_id, owner_id, now, product)
    return rows[0] if rows else None


async def live(conn: Connection, project_id: str, owner_id: str, now: datetime, product: Product) -> list[Row[Any]]:
    """The owner's registrations that can still be used, verified first, newest first."""
    totps, owner = _table(product)
    return list(
        await conn.execute(
            select(totps)
            .where(
                totps.c.project_id == project_id,
                owner == owner_id,
                or_(totps.c.verified.is_(True), totps.c.expires_at.is_(None), totps.c.expires_at > now),
            )
            .order_by(totps.c.verified.desc(), totps.c.created_at.desc())
        )
    )


async def get(conn: Connection, project_id: str, registration_id: str, product: Product) -> Row[Any] | None:
    totps, _ = _table(product)
    return (
        await conn.execute(
            select(totps).where(totps.c.project_id == project_id, totps.c.totp_registration_id == registration_id)
        )
    ).first()


async def delete_for(
    conn: Connection, project_id: str, owner_id: str, *, pending_only: bool = False, product: Product = "b2b"
) -> None:
    totps, owner = _table(product)
    where = [totps.c.project_id == project_id, owner == owner_id]
    if pending_only:
        where.append(totps.c.verified.is_(False))
    await conn.execute(delete(totps).where(*where))


async def accept_step(
    conn: Connection, project_id: str, registration_id: str, step: int, product: Product = "b2b"
) -> bool:
    """Record that a code of `step` was accepted; False if this or a later step already was."""
    totps, _ = _table(product)
    result = await conn.execute(
        update(totps)
        .where(
            totps.c.totp_registration_id == registration_id,
            totps.c.project_id == project_id,
            totps.c.last_step < step,
        )
        .values(last_step=step, verified=True, expires_at=None)
    )
    return bool(result.rowcount)
