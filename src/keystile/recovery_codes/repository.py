"""Every SQL statement of recovery codes: ten per Member (`member_recovery_codes`) or consumer
User (`user_recovery_codes`), hashed to be found and encrypted to be shown again, each spent
by one conditional UPDATE."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Column, Table, delete, func, insert, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.totps import member_recovery_codes, user_recovery_codes

Product = Literal["b2b", "consumer"]


def _table(product: Product) -> tuple[Table, Column[Any], str]:
    """The product's table, the column naming whose codes a row holds, and its name."""
    if product == "b2b":
        return member_recovery_codes, member_recovery_codes.c.member_id, "member_id"
    return user_recovery_codes, user_recovery_codes.c.user_id, "user_id"


async def replace(
    conn: Connection,
    project_id: str,
    owner_id: str,
    rows: list[dict[str, Any]],
    now: datetime,
    product: Product = "b2b",
) -> None:
    """The owner's codes become `rows` ({code_hash, code}); the old set is gone."""
    codes, owner, owner_name = _table(product)
    await conn.execute(delete(codes).where(codes.c.project_id == project_id, owner == owner_id))
    if rows:
        await conn.execute(
            insert(codes),
            [
                {**row, "project_id": project_id, owner_name: owner_id, "position": i, "created_at": now}
                for i, row in enumerate(rows)
            ],
        )


async def delete_all(conn: Connection, project_id: str, owner_id: str, product: Product = "b2b") -> None:
    codes, owner, _ = _table(product)
    await conn.execute(delete(codes).where(codes.c.project_id == project_id, owner == owner_id))


async def unused(conn: Connection, project_id: str, owner_id: str, product: Product = "b2b") -> list[Row[Any]]:
    codes, owner, _ = _table(product)
    return list(
        await conn.execute(
            select(codes)
            .where(codes.c.project_id == project_id, owner == owner_id, codes.c.used_at.is_(None))
            .order_by(codes.c.position)
        )
    )


async def count_unused(conn: Connection, project_id: str, owner_id: str, product: Product = "b2b") -> int:
    codes, owner, _ = _table(product)
    return int(
        (
            await conn.execute(
                select(func.count())
                .select_from(codes)
                .where(codes.c.project_id == project_id, owner == owner_id, codes.c.used_at.is_(None))
            )
        ).scalar_one()
    )


async def spend(
    conn: Connection, project_id: str, owner_id: str, code_hash: str, now: datetime, product: Product = "b2b"
) -> bool:
    """Use one code: True for exactly one of any number of concurrent calls."""
    codes, owner, _ = _table(product)
    result = await conn.execute(
        update(codes)
        .where(
            codes.c.code_hash == code_hash,
            codes.c.project_id == project_id,
            owner == owner_id,
            codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(result.rowcount)
