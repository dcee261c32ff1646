"""The permission each Member-authorizable SSO method needs when a session header is passed
(`X-Stytch-Member-Session`, core/authz.py): `stytch.sso` create, update, delete; reading the
connections needs only membership of the organization. Without a header: nothing to check."""

from __future__ import annotations

from keystile.core.authz import acting_member, require
from keystile.core.context import Context
from keystile.core.db import Record

SSO = "stytch.sso"


async def sso_action(ctx: Context, organization: Record, action: str | None) -> None:
    actor = await acting_member(ctx)
    if actor is not None:
        require(actor, organization.organization_id, [(SSO, action)] if action else [])
