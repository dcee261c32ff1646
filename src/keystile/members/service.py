"""Members: creation and the status changes every login flow shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import emails, ids
from keystile.core.context import Context
from keystile.members import repository
from keystile.models.organizations import members


async def create_member(
    ctx: Context,
    organization: Row[Any],
    *,
    email: str,
    status: str,
    name: str | None = None,
    email_verified: bool = False,
    roles: list[str] | None = None,
    external_id: str | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    is_breakglass: bool = False,
) -> Row[Any]:
    """Add a Member to an Organization; one per email address per organization."""
    email = emails.validate(email)
    if await repository.find_by_email(ctx.conn, ctx.project_id, organization.organization_id, email):
        raise errors.DuplicateMemberEmail()
    if external_id is not None and await repository.find(
        ctx.conn, ctx.project_id, organization.organization_id, external_id
    ):
        raise errors.DuplicateMemberExternalId()
    now = ctx.clock.now()
    return (
        await ctx.conn.execute(
            insert(members)
            .values(
                member_id=ids.member_id(ctx.live),
                project_id=ctx.project_id,
                organization_id=organization.organization_id,
                email=email,
                email_normalized=emails.normalize(email),
                email_id=ids.email_id(ctx.live),
                status=status,
                name=name or "",
                external_id=external_id,
                email_address_verified=email_verified,
                is_breakglass=is_breakglass,
                roles=list(dict.fromkeys(roles or [])),
                trusted_metadata=trusted_metadata or {},
                untrusted_metadata=untrusted_metadata or {},
                created_at=now,
                updated_at=now,
            )
            .returning(members)
        )
    ).one()


async def activate(ctx: Context, member: Row[Any]) -> Row[Any]:
    """First authentication: pending/invited → active, and the email is now verified."""
    if member.status == "active" and member.email_address_verified:
        return member
    return (
        await ctx.conn.execute(
            update(members)
            .where(members.c.member_id == member.member_id, members.c.project_id == ctx.project_id)
            .values(status="active", email_address_verified=True, updated_at=ctx.clock.now())
            .returning(members)
        )
    ).one()
