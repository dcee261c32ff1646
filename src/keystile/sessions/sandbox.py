"""The sandbox values of consumer sessions.authenticate (core/sandbox.py), and the one session
behind the documented success token in each test project: a real session of the project's
sandbox user (users/sandbox.py), so it authenticates and its JWT verifies like any other."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors
from keystile.core import ids, sandbox
from keystile.core.context import Context
from keystile.core.sandbox import CONSUMER_PAGE, SandboxValue
from keystile.sessions import repository
from keystile.sessions import service as sessions
from keystile.sessions.repository import SessionRow
from keystile.users import sandbox as users_sandbox

AUTHENTICATE = "POST /v1/sessions/authenticate"
# How long the sandbox session lives when it is made (or made again after a revoke or expiry).
MINUTES = 60

VALUES: list[SandboxValue] = [
    SandboxValue(AUTHENTICATE, {"session_token": sandbox.SESSION_SUCCESS}, None, CONSUMER_PAGE),
    SandboxValue(AUTHENTICATE, {"session_token": sandbox.SESSION_NOT_FOUND}, errors.SessionNotFound, CONSUMER_PAGE),
]


async def ensure_session(ctx: Context, user_id: str, factor: dict[str, Any], *, minutes: int = MINUTES) -> SessionRow:
    """The project's sandbox session for its sandbox user, live: made on first use, and made
    live again (new start, `minutes` long) after a revoke or expiry, so the documented token
    always authenticates."""
    now = ctx.clock.now()
    digest = sandbox.session_token_hash(ctx.project_id, sandbox.SESSION_SUCCESS)
    current = await repository.find_by_hash(ctx.conn, ctx.project_id, digest)
    if current is not None and current.user_id == user_id and current.revoked_at is None and current.expires_at > now:
        return current
    if current is not None:
        await repository.delete_session(ctx.conn, ctx.project_id, current.session_id)
        ctx.state.jwt_cache.drop(current.session_id)
    try:
        async with ctx.conn.begin_nested():
            return await repository.insert_session(
                ctx.conn,
                session_id=ids.session_id(live=False),
                project_id=ctx.project_id,
                kind="consumer",
                token_hash=digest,
                member_id=None,
                organization_id=None,
                user_id=user_id,
                authentication_factors=[factor],
                custom_claims={},
                attributes={"ip_address": "", "user_agent": ""},
                started_at=now,
                last_accessed_at=now,
                expires_at=now + timedelta(minutes=minutes),
            )
    except IntegrityError:  # a concurrent request made it first
        made = await repository.find_by_hash(ctx.conn, ctx.project_id, digest)
        if made is None:
            raise errors.SessionNotFound() from None
        return made


async def session(ctx: Context, *, minutes: int = MINUTES) -> tuple[Row[Any], Row[Any], SessionRow]:
    """The sandbox user, its email and its live sandbox session (whose token is
    `sandbox.SESSION_SUCCESS`)."""
    user, email = await users_sandbox.user(ctx)
    factor = sessions.email_factor(ctx.clock.now(), email.email_id, email.email)
    row = await ensure_session(ctx, user.user_id, factor, minutes=minutes)
    return user, email, row


async def prepare(ctx: Context, token: str) -> None:
    """Before consumer sessions.authenticate looks a sandbox token up: the documented failure
    is raised, the documented success finds its session live."""
    if sandbox.consult(ctx, AUTHENTICATE, session_token=token) is not None:
        await session(ctx)
