"""The consumer sandbox (core/sandbox.py): each test project's sandbox user, sandbox@stytch.com,
a real row made on first use, so an app's flow goes on from a sandbox value as from any login.
Its session behind the documented session token is the sessions area's (sessions/sandbox.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile.core import sandbox
from keystile.core.context import Context
from keystile.users import repository
from keystile.users import service as users


async def user(ctx: Context) -> tuple[Row[Any], Row[Any]]:
    """The project's sandbox user (active, its email verified) and its email row."""
    found, email, _ = await users.find_or_create_by_email(ctx, sandbox.EMAIL, pending=False)
    if not email.verified:
        await repository.verify_email(ctx.conn, ctx.project_id, email.email_id)
        email = await repository.get_email(ctx.conn, ctx.project_id, email.email_id) or email
    return await users.activate(ctx, found), email
