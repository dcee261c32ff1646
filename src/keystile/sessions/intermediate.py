"""Intermediate sessions: an email proven by a primary factor, for 10 minutes, single use,
before it becomes a member session (discovery, or an organization that asks for more:
stytch.com/docs/b2b/api/exchange-intermediate-session). A secret of `core/tokens.py`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import ratelimit, tokens
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.core.tokens import TokenKind

IST_MINUTES = 10


async def issue(
    ctx: Context,
    email: str,
    *,
    factor_type: str = "magic_link",
    organization_id: str | None = None,
    factor: dict[str, Any] | None = None,
    email_verified: bool = True,
    extra: dict[str, Any] | None = None,
) -> tuple[str, Row[Any]]:
    """An intermediate session: an email and the factor that proved it, for 10 minutes. An
    emailed factor by `factor_type`, or any `factor` as a session lists it (an OAuth login's);
    `email_verified` False when that factor did not prove the email; `extra`: more of what the
    factor proved, kept in the token's data (an OAuth login's provider and tenants)."""
    first = factor or {"type": factor_type, "delivery_method": "email", "authenticated_at": rfc3339(ctx.clock.now())}
    return await tokens.issue(
        ctx,
        TokenKind.INTERMEDIATE_SESSION,
        minutes=IST_MINUTES,
        email=email,
        organization_id=organization_id,
        data={**(extra or {}), "email_address": email, "email_verified": email_verified, "factors": [first]},
    )


async def redeem(ctx: Context, token: str) -> Row[Any]:
    async with ratelimit.attempts(ctx, token):
        return await tokens.redeem(
            ctx,
            token,
            (TokenKind.INTERMEDIATE_SESSION,),
            used=errors.IntermediateSessionNotFound,
            unknown=errors.IntermediateSessionNotFound,
        )


async def peek(ctx: Context, token: str) -> Row[Any]:
    async with ratelimit.attempts(ctx, token):
        return await tokens.peek(
            ctx, token, (TokenKind.INTERMEDIATE_SESSION,), missing=errors.IntermediateSessionNotFound
        )
