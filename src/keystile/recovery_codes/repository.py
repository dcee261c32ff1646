"""Every SQL statement of recovery codes: ten per Member, hashed to be found and encrypted
to be shown again, each spent by one conditional UPDATE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.totps import member_recovery_codes as codes


async def replace(conn: Connection, project_id: str, member_id: str, rows: list[dict[str, Any]], now: datetime) -> None:
    """The Member's codes become `rows` ({code_hash, code}); the old set is gone."""
    await conn.execute(delete(codes).where(codes.c.project_id == project_id, codes.c.member_id == member_id))
    if rows:
        await conn.execute(
            insert(codes),
            [
                {**row, "project_id": project_id, "member_id": member_id, "position": i, "created_at": now}
                for i, row in enumerate(rows)
            ],
        )


async def delete_all(conn: Connection, project_id: str, member_id: str) -> None:
    await conn.execute(delete(codes).where(codes.c.project_id == project_id, codes.c.member_id == member_id))


async def unused(conn: Connection, project_id: str, member_id: str) -> list[Row[Any]]:
    return list(
        await conn.execute(
            select(codes)
            .where(codes.c.project_id == project_id, codes.c.member_id == member_id, codes.c.used_at.is_(None))
            .order_by(codes.c.position)
        )
    )


async def count_unused(conn: Connection, project_id: str, member_id: str) -> int:
    return int(
        (
            await conn.execute(
                select(func.count())
                .select_from(codes)
                .where(codes.c.project_id == project_id, codes.c.member_id == member_id, codes.c.used_at.is_(None))
            )
        ).scalar_one()
    )


async def spend(conn: Connection, project_id: str, member_id: str, code_hash: str, now: datetime) -> bool:
    """Use one code: True for exactly one of any number of concurrent calls."""
    result = await conn.execute(
        update(codes)
        .where(
            codes.c.code_hash == code_hash,
            codes.c.project_id == project_id,
            codes.c.member_id == member_id,
            codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(result.rowcount)
