"""Single-use secrets: issued once, stored hashed, redeemed by one conditional UPDATE."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import crypto
from keystile.core.clock import rfc3339_seconds
from keystile.core.db import Connection
from keystile.models.projects import projects
from keystile.models.tokens import tokens

if TYPE_CHECKING:
    from keystile.core.context import Context


# tokens.void_reason: why a token was made unusable other than by its redemption.
VOID_REVOKED = "revoked"
VOID_SUPERSEDED = "superseded"


class TokenKind(StrEnum):
    """The kinds of secret today's areas issue. An area may use any string of its own, declared
    in its `Area.token_kinds` (the registry refuses two areas claiming one)."""

    DISCOVERY_MAGIC_LINK = "discovery_magic_link"
    B2B_MAGIC_LINK = "b2b_magic_link"  # organization login, signup and invite links
    INTERMEDIATE_SESSION = "intermediate_session"
    CONSUMER_MAGIC_LINK = "consumer_magic_link"  # login, signup, invite and embeddable links


async def issue(
    ctx: Context,
    kind: str,
    *,
    minutes: int,
    email: str | None = None,
    organization_id: str | None = None,
    member_id: str | None = None,
    user_id: str | None = None,
    email_id: str | None = None,
    pkce_challenge: str | None = None,
    data: dict[str, Any] | None = None,
    link_url: str | None = None,
) -> tuple[str, Row[Any]]:
    """Make a token; return it (shown once) and its stored row. An emailed token keeps
    `link_url`, the app's URL it leads to (core/email_links.py)."""
    token = crypto.new_token()
    now = ctx.clock.now()
    row = (
        await ctx.conn.execute(
            insert(tokens)
            .values(
                token_id=str(uuid.uuid4()),
                project_id=ctx.project_id,
                kind=str(kind),
                token_hash=crypto.hash_token(token),
                email=email,
                organization_id=organization_id,
                member_id=member_id,
                user_id=user_id,
                email_id=email_id,
                pkce_challenge=pkce_challenge,
                data=data or {},
                link_url=link_url,
                created_at=now,
                expires_at=now + timedelta(minutes=minutes),
            )
            .returning(tokens)
        )
    ).one()
    return token, row


async def redeem(
    ctx: Context,
    token: str,
    kinds: tuple[str, ...],
    *,
    used: type[errors.StytchError],
    unknown: type[errors.StytchError],
    noun: str | None = None,
) -> Row[Any]:
    """Consume a token exactly once. `used` is raised for a used or expired token,
    `unknown` for one that never existed (in this project, of these kinds). With `noun`
    ("magic link"), the error's message says which of those it was (`why_unusable`)."""
    now = ctx.clock.now()
    token_hash = crypto.hash_token(token)
    scope = (
        tokens.c.token_hash == token_hash,
        tokens.c.project_id == ctx.project_id,
        tokens.c.kind.in_([str(k) for k in kinds]),
    )
    row = (
        await ctx.conn.execute(
            update(tokens)
            .where(*scope, tokens.c.used_at.is_(None), tokens.c.expires_at > now)
            .values(used_at=now)
            .returning(tokens)
        )
    ).first()
    if row is not None:
        return row
    found = (
        await ctx.conn.execute(select(tokens.c.used_at, tokens.c.expires_at, tokens.c.void_reason).where(*scope))
    ).first()
    if found is not None:
        raise used(why_unusable(found, now, noun) if noun else None)
    raise unknown(
        f"No such {noun} exists in this project: it was never sent, or was deleted. Send another one." if noun else None
    )


def why_unusable(row: Row[Any], now: datetime, noun: str) -> str:
    """The true reason a stored token cannot be redeemed, for the error's message."""
    if row.void_reason == VOID_SUPERSEDED:
        return f"This {noun} was replaced by a newer one sent to the same address: use the newest {noun}."
    if row.void_reason == VOID_REVOKED:
        return f"This {noun} was revoked before it was used. Send another one."
    if row.used_at is not None:
        return f"This {noun} was already used, at {rfc3339_seconds(row.used_at)}; each works once. Send another one."
    return f"This {noun} expired at {rfc3339_seconds(row.expires_at)}. Send another one."


async def peek(ctx: Context, token: str, kinds: tuple[str, ...], *, missing: type[errors.StytchError]) -> Row[Any]:
    """Read a live token without consuming it (discovery lists organizations this way)."""
    row = (
        await ctx.conn.execute(
            select(tokens).where(
                tokens.c.token_hash == crypto.hash_token(token),
                tokens.c.project_id == ctx.project_id,
                tokens.c.kind.in_([str(k) for k in kinds]),
                tokens.c.used_at.is_(None),
                tokens.c.expires_at > ctx.clock.now(),
            )
        )
    ).first()
    if row is None:
        raise missing()
    return row


async def live(ctx: Context, kind: str, *, email: str, organization_id: str | None = None) -> list[Row[Any]]:
    """The live (unused, unexpired) tokens of one kind sent to a normalized email address,
    in the project (and the organization, when given)."""
    scope = [
        tokens.c.project_id == ctx.project_id,
        tokens.c.kind == str(kind),
        tokens.c.email == email,
        tokens.c.used_at.is_(None),
        tokens.c.expires_at > ctx.clock.now(),
    ]
    if organization_id is not None:
        scope.append(tokens.c.organization_id == organization_id)
    return list((await ctx.conn.execute(select(tokens).where(*scope))).all())


async def spend(ctx: Context, token_ids: list[str], *, reason: str) -> None:
    """Make tokens unusable without redeeming them, saying why (`VOID_REVOKED`: an invite
    revoked; `VOID_SUPERSEDED`: a link replaced by a newer one)."""
    await ctx.conn.execute(
        update(tokens)
        .where(tokens.c.project_id == ctx.project_id, tokens.c.token_id.in_(token_ids))
        .values(used_at=ctx.clock.now(), void_reason=reason)
    )


def check_pkce(row: Row[Any], verifier: str | None) -> None:
    """PKCE (RFC 7636, S256) when the token was sent with a challenge."""
    if row.pkce_challenge and not verifier:
        raise errors.PKCEExpectedCodeVerifier()
    if verifier and not row.pkce_challenge:
        raise errors.PKCEDidNotExpectCodeVerifier()
    if verifier and not crypto.matches_plain(crypto.pkce_challenge(verifier), row.pkce_challenge):
        raise errors.PKCEMismatch()


async def link_of(conn: Connection, token: str, public_token: str) -> str | None:
    """The app's URL an emailed token leads to (`link_url`), for the redirect page: found by the
    token's hash within the project of `public_token`; None for an unknown token. Read-only,
    whether the token is still usable or not: redeeming it is the app's call."""
    row = (
        await conn.execute(
            select(tokens.c.link_url)
            .select_from(tokens.join(projects, projects.c.project_id == tokens.c.project_id))
            .where(tokens.c.token_hash == crypto.hash_token(token), projects.c.public_token == public_token)
        )
    ).first()
    return row.link_url if row is not None else None
