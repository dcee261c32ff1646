"""The permission `organizations.members.delete_mfa_phone_number` needs when a member session
header is passed (members/guards.py explains the headers): `update.info.delete.mfa-phone` on
stytch.member, or on stytch.self for the Member's own number."""

from __future__ import annotations

from keystile.core.authz import acting_member, require, self_or_member
from keystile.core.context import Context

ACTION = "update.info.delete.mfa-phone"


async def delete_mfa_phone_number(ctx: Context, organization_id: str, member_id: str) -> None:
    actor = await acting_member(ctx)
    if actor is not None:
        require(actor, organization_id, self_or_member(actor, member_id, ACTION, ACTION))
