"""The permission each Member-authorizable session method needs when a session header is passed.

Methods marked † in Stytch's reference accept `X-Stytch-Member-Session` /
`X-Stytch-Member-SessionJWT`; with one, the request runs with that Member's permissions:
it goes ahead only if the Member belongs to the organization and holds every permission
the request's fields need, and otherwise fails (403) before anything is written. Without a
header these checks do nothing: the project secret alone may do anything (core/authz.py).
"""

from __future__ import annotations

from typing import Any

from keystile import errors
from keystile.core.authz import acting_member, require, self_or_member
from keystile.core.context import Context
from keystile.members import repository as members_repo
from keystile.sessions import service as sessions


async def _session_owner(ctx: Context, body: Any) -> tuple[str, str] | None:
    """(member_id, organization_id) of the session(s) a revoke names, or None if unknown."""
    if body.member_id:
        member = await members_repo.find_by_id(ctx.conn, ctx.project_id, body.member_id)
        return (member.member_id, member.organization_id) if member is not None else None
    # The first of them the request names, as the revoke itself would refuse several.
    if body.member_session_id:
        named = {"session_id": body.member_session_id}
    elif body.session_token:
        named = {"token": body.session_token}
    elif body.session_jwt:
        named = {"session_jwt": body.session_jwt}
    else:
        return None
    try:
        session = await sessions.find(ctx, "b2b", **named)
    except errors.SessionNotFound:
        return None
    return (session.member_id or "", session.organization_id or "")


async def session_revoke(ctx: Context, body: Any) -> None:
    """Revoking one's own sessions is `revoke-sessions` on stytch.self; anyone else's, on stytch.member."""
    actor = await acting_member(ctx)
    if actor is None:
        return
    owner = await _session_owner(ctx, body)
    if owner is None:
        return  # the revoke itself reports the unknown session or member
    member_id, organization_id = owner
    require(
        actor,
        organization_id,
        self_or_member(actor, member_id, "revoke-sessions", "revoke-sessions"),
    )
