"""Member queries. Each takes the connection and the project first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import emails
from keystile.core.db import Connection, Query
from keystile.models.organizations import member_retired_emails, members

_RETIRED_ORDER = (member_retired_emails.c.created_at, member_retired_emails.c.email_id)
# One Member's retired addresses on the read path (sessions.authenticate, core/db.py).
RETIRED_OF_MEMBER = Query(
    select(member_retired_emails)
    .where(
        member_retired_emails.c.project_id == bindparam("project_id"),
        member_retired_emails.c.member_id == bindparam("member_id"),
    )
    .order_by(*_RETIRED_ORDER)
)


def retired_json(row: Any) -> dict[str, str]:
    """One entry of `Member.retired_email_addresses`."""
    return {"email_id": row.email_id, "email_address": row.email}


async def find(conn: Connection, project_id: str, organization_id: str, ref: str) -> Row[Any] | None:
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


async def get(conn: Connection, project_id: str, organization_id: str, ref: str) -> Row[Any]:
    row = await find(conn, project_id, organization_id, ref)
    if row is None:
        raise errors.MemberNotFound()
    return row


async def find_by_email(conn: Connection, project_id: str, organization_id: str, email: str) -> Row[Any] | None:
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


async def all_by_email(conn: Connection, project_id: str, email: str) -> list[Row[Any]]:
    """Every membership of one email address across the project's organizations."""
    rows = await conn.execute(
        select(members).where(members.c.project_id == project_id, members.c.email_normalized == emails.normalize(email))
    )
    return list(rows)


async def find_by_id(conn: Connection, project_id: str, member_id: str) -> Row[Any] | None:
    """By `member_id` alone, in any organization of the project (`dangerously_get`)."""
    return (
        await conn.execute(select(members).where(members.c.project_id == project_id, members.c.member_id == member_id))
    ).first()


async def retired_emails(conn: Connection, project_id: str, member_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Each Member's retired addresses as `Member.retired_email_addresses` lists them, oldest first."""
    found: dict[str, list[dict[str, str]]] = {member_id: [] for member_id in member_ids}
    if not member_ids:
        return found
    rows = await conn.execute(
        select(member_retired_emails)
        .where(
            member_retired_emails.c.project_id == project_id,
            member_retired_emails.c.member_id.in_(list(dict.fromkeys(member_ids))),
        )
        .order_by(*_RETIRED_ORDER)
    )
    for row in rows:
        found[row.member_id].append(retired_json(row))
    return found


async def find_retired(conn: Connection, project_id: str, organization_id: str, email: str) -> Row[Any] | None:
    """The retired-address record holding this email in one organization, if any. A deleted
    Member's addresses, retired ones included, are free again (PY `members.update` docstring)."""
    return (
        await conn.execute(
            select(member_retired_emails)
            .join(members, members.c.member_id == member_retired_emails.c.member_id)
            .where(
                member_retired_emails.c.project_id == project_id,
                member_retired_emails.c.organization_id == organization_id,
                member_retired_emails.c.email_normalized == emails.normalize(email),
                members.c.status != "deleted",
            )
        )
    ).first()
