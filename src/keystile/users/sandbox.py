"""The consumer sandbox (core/sandbox.py): each test project's sandbox user, sandbox@stytch.com,
and its one session behind the documented session token. They are real rows, made on first
use, so an app's flow goes on from a sandbox value as from any login: the user can be read,
the session authenticates, its JWT verifies."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile.core import sandbox
from keystile.core.context import Context
from keystile.sessions import sandbox as sessions_sandbox
from keystile.sessions import service as sessions
from keystile.sessions.repository import SessionRow
from keystile.users import repository
from keystile.users import service as users


async def user(ctx: Context) -> tuple[Row[Any], Row[Any]]:
    """The project's sandbox user (active, its email verified) and its email row."""
    found, email, _ = await users.find_or_create_by_email(ctx, sandbox.EMAIL, pending=False)
    if not email.verified:
        await repository.verify_email(ctx.conn, ctx.project_id, email.email_id)
        email = await repository.get_email(ctx.conn, ctx.project_id, email.email_id) or email
    return await users.activate(ctx, found), email


async def session(ctx: Context, *, minutes: int = sessions_sandbox.MINUTES) -> tuple[Row[Any], Row[Any], SessionRow]:
    """The sandbox user, its email and its live sandbox session (whose token is
    `sandbox.SESSION_SUCCESS`)."""
    found, email = await user(ctx)
    factor = sessions.email_factor(ctx.clock.now(), email.email_id, email.email)
    row = await sessions_sandbox.ensure_session(ctx, found.user_id, factor, minutes=minutes)
    return found, email, row


async def prepare_session(ctx: Context, token: str) -> None:
    """Before consumer sessions.authenticate looks a sandbox token up: the documented failure
    is raised, the documented success finds its session live."""
    if sandbox.consult(ctx, sessions_sandbox.AUTHENTICATE, session_token=token) is not None:
        await session(ctx)
