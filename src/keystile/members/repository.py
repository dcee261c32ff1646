"""Member queries. Each takes the connection and the project first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from keystile import errors
from keystile.core import emails
from keystile.models.organizations import members


async def find(conn: AsyncConnection, project_id: str, organization_id: str, ref: str) -> Row[Any] | None:
    """By `member_id` or the Member's `external_id`, within one organization."""
    return (
        await conn.execute(
            select(members).where(
                members.c.project_id == project_id,
                members.c.organization_id == organization_id,
                or_(members.c.member_id == ref, members.c.external_id == ref),
            )
        )
    ).first()


async def get(conn: AsyncConnection, project_id: str, organization_id: str, ref: str) -> Row[Any]:
    row = await find(conn, project_id, organization_id, ref)
    if row is None:
        raise errors.MemberNotFound()
    return row


async def find_by_email(
    conn: AsyncConnection, project_id: str, organization_id: str, email: str
) -> Row[Any] | None:
    """The live (not deleted) membership of an email address in one organization."""
    return (
        await conn.execute(
            select(members).where(
                members.c.project_id == project_id,
                members.c.organization_id == organization_id,
                members.c.email_normalized == emails.normalize(email),
                members.c.status != "deleted",
            )
        )
    ).first()


async def all_by_email(conn: AsyncConnection, project_id: str, email: str) -> list[Row[Any]]:
    """Every membership of one email address across the project's organizations."""
    rows = await conn.execute(
        select(members).where(
            members.c.project_id == project_id, members.c.email_normalized == emails.normalize(email)
        )
    )
    return list(rows)
