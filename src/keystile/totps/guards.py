"""The permission `organizations.members.delete_totp` needs when a member session header is
passed (members/guards.py explains the headers). Stytch's SDK names no action for it, so, as
for the member fields without one, the acting Member needs the wildcard on stytch.member."""

from __future__ import annotations

from keystile.core.authz import MEMBER, acting_member, require
from keystile.core.context import Context
from keystile.core.policy import WILDCARD


async def delete_totp(ctx: Context, organization_id: str) -> None:
    actor = await acting_member(ctx)
    if actor is not None:
        require(actor, organization_id, [(MEMBER, WILDCARD)])
