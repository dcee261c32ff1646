"""Every SQL statement of TOTP registrations. A code is accepted once: the step it was made
for is recorded by one conditional UPDATE (`last_step < :step`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.totps import member_totps as totps


async def create(conn: Connection, **values: Any) -> Row[Any]:
    return (await conn.execute(insert(totps).values(**values).returning(totps))).one()


async def current(conn: Connection, project_id: str, member_id: str, now: datetime) -> Row[Any] | None:
    """The Member's verified registration, else its newest pending one that has not expired."""
    rows = list(
        await conn.execute(
            select(totps)
            .where(
                totps.c.project_id == project_id,
                totps.c.member_id == member_id,
                or_(totps.c.verified.is_(True), totps.c.expires_at.is_(None), totps.c.expires_at > now),
            )
            .order_by(totps.c.verified.desc(), totps.c.created_at.desc())
        )
    )
    return rows[0] if rows else None


async def delete_for(conn: Connection, project_id: str, member_id: str, *, pending_only: bool = False) -> None:
    where = [totps.c.project_id == project_id, totps.c.member_id == member_id]
    if pending_only:
        where.append(totps.c.verified.is_(False))
    await conn.execute(delete(totps).where(*where))


async def accept_step(conn: Connection, project_id: str, registration_id: str, step: int) -> bool:
    """Record that a code of `step` was accepted; False if this or a later step already was."""
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
