"""Every SQL statement of B2B one-time passcodes, one store for all of them (models/otps.py).
One row per (method, subject): a send replaces it, and a code is accepted by one conditional
UPDATE (unused, unexpired, same hash), so never twice, however many try it at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.otps import b2b_otps as otps


def _key(project_id: str, method: str, subject: str) -> tuple[Any, ...]:
    return (otps.c.project_id == project_id, otps.c.method == method, otps.c.subject == subject)


async def replace(
    conn: Connection,
    project_id: str,
    method: str,
    subject: str,
    *,
    destination: str,
    code_hash: str,
    now: datetime,
    expires_at: datetime,
    member_id: str | None = None,
) -> None:
    """The subject's one live code for this method; a code sent before is gone."""
    await delete_for(conn, project_id, method, subject)
    await conn.execute(
        insert(otps).values(
            project_id=project_id,
            method=method,
            subject=subject,
            member_id=member_id,
            destination=destination,
            code_hash=code_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def live(conn: Connection, project_id: str, method: str, subject: str, now: datetime) -> Row[Any] | None:
    return (
        await conn.execute(
            select(otps).where(*_key(project_id, method, subject), otps.c.used_at.is_(None), otps.c.expires_at > now)
        )
    ).first()


async def redeem(
    conn: Connection, project_id: str, method: str, subject: str, code_hash: str, now: datetime
) -> Row[Any] | None:
    """Mark the subject's live code used if it is `code_hash`; its row, or None."""
    return (
        await conn.execute(
            update(otps)
            .where(
                *_key(project_id, method, subject),
                otps.c.code_hash == code_hash,
                otps.c.used_at.is_(None),
                otps.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(otps)
        )
    ).first()


async def delete_for(conn: Connection, project_id: str, method: str, subject: str) -> None:
    await conn.execute(delete(otps).where(*_key(project_id, method, subject)))
