"""The Member a request acts as: the rbac area's answer to `core/authz.py acting_member`
(declared as `Area.acting_member`), found through the sessions area."""

from __future__ import annotations

from keystile import errors
from keystile.core.authz import Actor, organization_policy, session_headers
from keystile.core.context import Context
from keystile.members.serializers import role_ids
from keystile.sessions import service as sessions


async def member_actor(ctx: Context) -> Actor | None:
    """The Member named by the request's session header. A header naming no live session
    of this project (or the session of a deleted Member) is `session_not_found`; when both
    headers are sent the session token is used."""
    token, session_jwt = session_headers(ctx)
    if not token and not session_jwt:
        return None
    found = await sessions.member_session(ctx, token=token, session_jwt=session_jwt)
    if found is None:
        raise errors.SessionNotFound("The session in the X-Stytch-Member-Session header could not be found.")
    return Actor(
        found.member,
        found.organization,
        role_ids(found.member, found.organization),
        await organization_policy(ctx, found.organization),
    )
