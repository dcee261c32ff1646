"""The permission each Member-authorizable B2B password method needs when a member session
header is passed (members/guards.py explains the headers): `update.info.delete.password` on
stytch.member, or on stytch.self for the Member's own password."""

from __future__ import annotations

from keystile.core.authz import acting_member, require, self_or_member
from keystile.core.context import Context

ACTION = "update.info.delete.password"


async def delete_password(ctx: Context, organization_id: str, member_id: str) -> None:
    actor = await acting_member(ctx)
    if actor is not None:
        require(actor, organization_id, self_or_member(actor, member_id, ACTION, ACTION))


async def require_reset(ctx: Context, organization_id: str, member_id: str) -> None:
    """Forcing a reset takes the password away until the Member resets it: the same
    permission as deleting it."""
    await delete_password(ctx, organization_id, member_id)
