"""Every SQL statement of B2B SMS passcodes. One row per Member: a send replaces it, and a code
is accepted by one conditional UPDATE (unused, unexpired, same hash), so never twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.otps import member_sms_otps as otps


async def replace(
    conn: Connection,
    project_id: str,
    member_id: str,
    *,
    phone_number: str,
    code_hash: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """The Member's one live code; a code sent before is gone."""
    await delete_for(conn, project_id, member_id)
    await conn.execute(
        insert(otps).values(
            member_id=member_id,
            project_id=project_id,
            phone_number=phone_number,
            code_hash=code_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def live(conn: Connection, project_id: str, member_id: str, now: datetime) -> Row[Any] | None:
    return (
        await conn.execute(
            select(otps).where(
                otps.c.project_id == project_id,
                otps.c.member_id == member_id,
                otps.c.used_at.is_(None),
                otps.c.expires_at > now,
            )
        )
    ).first()


async def redeem(conn: Connection, project_id: str, member_id: str, code_hash: str, now: datetime) -> Row[Any] | None:
    """Mark the Member's live code used if it is `code_hash`; its row, or None."""
    return (
        await conn.execute(
            update(otps)
            .where(
                otps.c.project_id == project_id,
                otps.c.member_id == member_id,
                otps.c.code_hash == code_hash,
                otps.c.used_at.is_(None),
                otps.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(otps)
        )
    ).first()


async def delete_for(conn: Connection, project_id: str, member_id: str) -> None:
    await conn.execute(delete(otps).where(otps.c.project_id == project_id, otps.c.member_id == member_id))
