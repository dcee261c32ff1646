"""Sessions for members (B2B) and users (consumer): start, extend, authenticate, revoke.

One table holds both kinds; `kind` keeps them apart, so a B2B session token is never a
consumer session and the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from keystile import errors
from keystile.core import crypto, events, ids
from keystile.core.area import Factor
from keystile.core.clock import rfc3339, rfc3339_seconds
from keystile.core.context import Context
from keystile.core.db import Lookup, Record
from keystile.core.sandbox import SESSION_TOKENS, session_token_hash
from keystile.members import repository as members_repo
from keystile.sessions import jwts, repository
from keystile.sessions.repository import By, Kind, SessionRow
from keystile.users import repository as users_repo

MIN_MINUTES, MAX_MINUTES = 5, 527_040
DEFAULT_B2B_MINUTES = 60
MAX_CUSTOM_CLAIMS_BYTES = 4096
# A session started by impersonation holds exactly one factor of this type; Stytch lets no
# other factor join it and never extends it (PY `b2b/api/impersonation.py` docstring).
IMPERSONATED = "impersonated"


def is_impersonated(factors: list[dict[str, Any]]) -> bool:
    return any(f.get("type") == IMPERSONATED for f in factors)


def refuse_if_impersonated(row: SessionRow) -> None:
    """An impersonated session is fixed: no extension, no claim changes, no added factor, no exchange."""
    if is_impersonated(row.authentication_factors):
        raise errors.SessionNotMutableImpersonated()


def check_duration(minutes: int | None) -> None:
    if minutes is not None and not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise errors.InvalidSessionDuration()


def merge_custom_claims(existing: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    """Apply `session_custom_claims`: a value sets a key, null deletes it, reserved keys are ignored."""
    if not changes:
        return existing
    merged = dict(existing)
    for key, value in changes.items():
        if key in jwts.RESERVED_CLAIMS:
            continue
        if key.startswith("https://stytch.com/"):
            raise errors.StytchClaims()
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(orjson.dumps(merged)) > MAX_CUSTOM_CLAIMS_BYTES:
        raise errors.CustomClaimsTooLarge()
    return merged


def email_factor(now: datetime, email_id: str, email: str, factor_type: str = "magic_link") -> dict[str, Any]:
    """A factor delivered by email (magic link by default) as a session lists it, for the
    flows that carry the factor's type along (an intermediate session's primary factor)."""
    return Factor(factor_type, "email").build(now, email_factor={"email_id": email_id, "email_address": email})


def _add_factor(factors: list[dict[str, Any]], factor: dict[str, Any]) -> list[dict[str, Any]]:
    """Re-authenticating with the same factor refreshes it instead of listing it twice."""

    def same(f: dict[str, Any]) -> bool:
        return (
            f["type"] == factor["type"]
            and f["delivery_method"] == factor["delivery_method"]
            and f.get("email_factor") == factor.get("email_factor")
        )

    kept = [f for f in factors if not same(f)]
    previous = next((f for f in factors if same(f)), None)
    if previous:
        factor = {**factor, "created_at": previous.get("created_at", factor["created_at"])}
    return [*kept, factor]


@dataclass
class Issued:
    """A session as an authenticate endpoint returns it."""

    row: SessionRow
    token: str  # "" when the caller proved the session by JWT (only its hash is stored)
    jwt: str


async def start(
    ctx: Context,
    kind: Kind,
    *,
    factor: dict[str, Any],
    minutes: int,
    member_id: str | None = None,
    organization_id: str | None = None,
    user_id: str | None = None,
    custom_claims: dict[str, Any] | None = None,
    existing_token: str | None = None,
    existing_jwt: str | None = None,
    attributes: dict[str, str] | None = None,
    prior_factors: list[dict[str, Any]] | None = None,
) -> tuple[SessionRow, str]:
    """Start a session, or extend the caller's existing one for the same subject.

    `prior_factors`: factors proven before this one in the same login (an intermediate
    session's primary factor, when `factor` is its second).

    `attributes` ({ip_address, user_agent}) describe the end user as the app reports them;
    the request's own headers describe the app's backend, so they are not used.

    Returns the row and the session token ("" if an existing session was named by JWT)."""
    check_duration(minutes)
    now = ctx.clock.now()
    expires_at = now + timedelta(minutes=minutes)
    if existing_token or existing_jwt:
        current = await find(ctx, kind, **_one_of(existing_token, existing_jwt))
        same_subject = current.member_id == member_id and current.organization_id == organization_id
        if kind == "consumer":
            same_subject = current.user_id == user_id
        if same_subject:
            refuse_if_impersonated(current)
            extended = await repository.update_live(
                ctx.conn,
                ctx.project_id,
                current.session_id,
                authentication_factors=_add_factor(current.authentication_factors, factor),
                custom_claims=merge_custom_claims(current.custom_claims, custom_claims),
                expires_at=max(expires_at, current.expires_at),
                last_accessed_at=now,
            )
            if extended is None:  # revoked since it was read
                raise errors.SessionNotFound()
            return extended, existing_token or ""
    token = crypto.new_token()
    row = await repository.insert_session(
        ctx.conn,
        session_id=ids.member_session_id(ctx.live) if kind == "b2b" else ids.session_id(ctx.live),
        project_id=ctx.project_id,
        kind=kind,
        token_hash=crypto.hash_token(token),
        member_id=member_id,
        organization_id=organization_id,
        user_id=user_id,
        authentication_factors=[*(prior_factors or []), factor],
        custom_claims=merge_custom_claims({}, custom_claims),
        attributes={
            "ip_address": (attributes or {}).get("ip_address") or "",
            "user_agent": (attributes or {}).get("user_agent") or "",
        },
        started_at=now,
        last_accessed_at=now,
        expires_at=expires_at,
    )
    return row, token


def _one_of(token: str | None, session_jwt: str | None) -> dict[str, str]:
    """The one of session_token and session_jwt a request names (`find`'s keywords)."""
    if token and session_jwt:
        raise errors.TooManySessionArguments()
    if not token and not session_jwt:
        raise errors.NoSessionArguments()
    return {"token": token} if token else {"session_jwt": session_jwt or ""}


async def lookup(
    ctx: Context,
    lookups: dict[By, Lookup],
    kind: Kind,
    *,
    token: str | None = None,
    session_jwt: str | None = None,
    session_id: str | None = None,
) -> list[tuple[Any, ...]]:
    """The one session lookup: the rows of `lookups` (repository.SESSION, MEMBER_SESSION,
    USER_SESSION) for the live session named by one of token, JWT or id; [] if there is
    none. A JWT is checked against the key it names before anything read is returned."""
    where = {"project_id": ctx.project_id, "kind": kind, "now": ctx.clock.now()}
    if token:
        # A sandbox session token is stored under a hash of its project's (sessions/sandbox.py):
        # one set lookup for any other token.
        if token in SESSION_TOKENS and not ctx.project.live:
            return await ctx.lookup(lookups["token"], session_token_hash(ctx.project_id, token), **where)
        return await ctx.lookup(lookups["token"], crypto.hash_token(token), **where)
    if session_jwt:
        return await _lookup_by_jwt(ctx, lookups["jwt"], session_jwt, where)
    if session_id:
        return await ctx.lookup(lookups["id"], session_id, **where)
    return []


async def _lookup_by_jwt(ctx: Context, lookup: Lookup, session_jwt: str, where: dict[str, Any]) -> list[Any]:
    """The rows of the live session a JWT names, read together with the key the JWT names;
    nothing is returned before the JWT is checked against that key. The rows come back
    without the key's columns."""
    unverified = jwts.peek(session_jwt)
    found = await ctx.lookup(lookup, unverified.session_id, kid=unverified.kid, **where)
    if not found:
        await jwts.verify(ctx, session_jwt)  # an invalid JWT says so, not "session not found"
        return []
    key = found[0][0]
    jwts.check(ctx, session_jwt, unverified, key.jwt_public_jwk, key.jwt_key_retired_at)
    return [row[1:] for row in found]


async def find(
    ctx: Context,
    kind: Kind,
    *,
    token: str | None = None,
    session_jwt: str | None = None,
    session_id: str | None = None,
) -> SessionRow:
    """The live session named by token, JWT or id; `session_not_found` if there is none."""
    found = await lookup(ctx, repository.SESSION, kind, token=token, session_jwt=session_jwt, session_id=session_id)
    if not found:
        raise errors.SessionNotFound()
    return cast(SessionRow, found[0][0])


async def _found(
    ctx: Context, lookups: dict[By, Lookup], kind: Kind, token: str | None, jwt: str | None
) -> list[tuple[Any, ...]]:
    """sessions.authenticate's lookup: the rows for the one of token and JWT given."""
    found = await lookup(ctx, lookups, kind, **_one_of(token, jwt))
    if not found:
        raise errors.SessionNotFound()
    return found


async def _touch(
    ctx: Context, row: SessionRow, minutes: int | None, custom_claims: dict[str, Any] | None
) -> SessionRow:
    """Extend the session if asked (a write the response waits for); otherwise move
    last_accessed_at when it is due, in the background: once per session per
    TOUCH_INTERVAL in this process, never awaited by a request (core/writebehind.py)."""
    now = ctx.clock.now()
    values: dict[str, Any] = {}
    if minutes is not None or custom_claims:
        refuse_if_impersonated(row)
    if minutes is not None:
        values["expires_at"] = now + timedelta(minutes=minutes)
    if custom_claims:
        values["custom_claims"] = merge_custom_claims(row.custom_claims, custom_claims)
    if values:
        updated = await repository.update_live(ctx.conn, ctx.project_id, row.session_id, **values, last_accessed_at=now)
        if updated is None:  # revoked since it was read
            raise errors.SessionNotFound()
        return updated
    if not repository.touch_due(row, now):
        return row
    # After the request succeeded (a refused authorization check touches nothing).
    ctx.after_commit.append(lambda: _touch_later(ctx, row.session_id, now))
    return repository.touched(row, now)


def _touch_later(ctx: Context, session_id: str, now: datetime) -> None:
    project_id = ctx.project_id

    async def write(conn: AsyncConnection) -> None:
        await repository.touch(conn, project_id, session_id, now)

    ctx.state.db.behind.submit(("touch", session_id), write, now=now, quiet_until=now + repository.TOUCH_INTERVAL)


async def authenticate(
    ctx: Context,
    kind: Kind,
    *,
    token: str | None,
    session_jwt: str | None,
    minutes: int | None = None,
    custom_claims: dict[str, Any] | None = None,
) -> tuple[SessionRow, str]:
    """sessions.authenticate: find the live session, extend it if asked, touch it."""
    check_duration(minutes)
    found = await _found(ctx, repository.SESSION, kind, token, session_jwt)
    return await _touch(ctx, found[0][0], minutes, custom_claims), token or ""


@dataclass
class MemberSession:
    row: SessionRow
    token: str
    member: Record
    organization: Record
    signing_kid: str | None  # the project's current signing key, read with the session
    retired: list[dict[str, str]]  # Member.retired_email_addresses


async def member_session(ctx: Context, *, token: str | None, session_jwt: str | None) -> MemberSession | None:
    """The live B2B session named by token (or else by JWT), with its member and
    organization, read in one statement; None if there is none (or its member is deleted)."""
    found = await lookup(ctx, repository.MEMBER_SESSION, "b2b", token=token, session_jwt=None if token else session_jwt)
    if not found:
        return None
    row, member, organization, key = found[0]
    retired = []
    if key.has_retired_emails:
        rows = await ctx.read_all(members_repo.RETIRED_OF_MEMBER, project_id=ctx.project_id, member_id=member.member_id)
        retired = [members_repo.retired_json(r) for r in rows]
    return MemberSession(row, token or "", member, organization, key.signing_kid, retired)


async def authenticate_member(
    ctx: Context,
    *,
    token: str | None,
    session_jwt: str | None,
    minutes: int | None = None,
    custom_claims: dict[str, Any] | None = None,
) -> MemberSession:
    """B2B sessions.authenticate: the session, its member and organization in one read
    (and a second, only for a member whose email changed, for its retired addresses).
    A deleted member's session is not found."""
    check_duration(minutes)
    _one_of(token, session_jwt)
    found = await member_session(ctx, token=token, session_jwt=session_jwt)
    if found is None:
        raise errors.SessionNotFound()
    found.row = await _touch(ctx, found.row, minutes, custom_claims)
    return found


@dataclass
class UserSession:
    row: SessionRow
    token: str
    user: Record
    emails: list[Any]
    signing_kid: str | None  # the project's current signing key, read with the session
    phones: Sequence[Record]  # User.phone_numbers
    totps: Sequence[Record]  # User.totps


async def authenticate_user(
    ctx: Context,
    *,
    token: str | None,
    session_jwt: str | None,
    minutes: int | None = None,
    custom_claims: dict[str, Any] | None = None,
) -> UserSession:
    """Consumer sessions.authenticate: the session, its user and the user's emails in one
    read (and one more each, only for a user who has them, for its phone numbers and TOTPs)."""
    check_duration(minutes)
    found = await _found(ctx, repository.USER_SESSION, "consumer", token, session_jwt)
    row, user, key, _ = found[0]
    emails = [email for *_, email in found if email.email_id is not None]
    phones: Sequence[Record] = ()
    totps: Sequence[Record] = ()
    if key.has_phone_numbers:
        phones = await ctx.lookup(users_repo.PHONES_OF_USER, user.user_id, project_id=ctx.project_id)
    if key.has_totps:
        totps = await ctx.lookup(users_repo.TOTPS_OF_USER, user.user_id, project_id=ctx.project_id, now=ctx.clock.now())
    row = await _touch(ctx, row, minutes, custom_claims)
    return UserSession(row, token or "", user, emails, key.signing_kid, phones, totps)


async def revoke(
    ctx: Context,
    kind: Kind,
    *,
    session_id: str | None = None,
    token: str | None = None,
    session_jwt: str | None = None,
) -> None:
    """Revoke by exactly one of id, token or JWT. An unknown session is `session_not_found`."""
    given = [v for v in (session_id, token, session_jwt) if v]
    if not given:
        raise errors.NoSessionRevokeArguments()
    if len(given) > 1:
        raise errors.TooManySessionRevokeArguments()
    row = await find(ctx, kind, session_id=session_id, token=token, session_jwt=session_jwt)
    if not await repository.revoke(ctx.conn, ctx.project_id, row.session_id, ctx.clock.now()):
        raise errors.SessionNotFound()  # revoked since it was read
    ctx.state.jwt_cache.drop(row.session_id)


async def revoke_for(
    ctx: Context, *, member_id: str | None = None, user_id: str | None = None, keep: str | None = None
) -> None:
    """Revoke every session of a member or user (deletion, for example), but the session
    `keep` (a password reset through a session keeps that session)."""
    revoked = await repository.revoke_all(
        ctx.conn, ctx.project_id, ctx.clock.now(), member_id=member_id, user_id=user_id, keep=keep
    )
    for session_id in revoked:
        ctx.state.jwt_cache.drop(session_id)


async def on_member_deleted(ctx: Context, event: events.MemberDeleted) -> None:
    await revoke_for(ctx, member_id=event.member_id)


async def on_user_deleted(ctx: Context, event: events.UserDeleted) -> None:
    await revoke_for(ctx, user_id=event.user_id)


async def list_live(ctx: Context, kind: Kind, **subject: str) -> list[SessionRow]:
    return await repository.list_live(ctx.conn, ctx.project_id, kind, ctx.clock.now(), **subject)


def _session_claim(row: SessionRow, roles: list[str]) -> dict[str, Any]:
    return {
        "id": row.session_id,
        "started_at": rfc3339_seconds(row.started_at),
        "last_accessed_at": rfc3339_seconds(row.last_accessed_at),
        "expires_at": rfc3339_seconds(row.expires_at),
        "attributes": row.attributes or {"ip_address": "", "user_agent": ""},
        "authentication_factors": row.authentication_factors,
        "roles": roles,
    }


def _subject(subject_id: str | None) -> str:
    """The JWT's `sub`: a B2B session always has its member, a consumer session its user."""
    if subject_id is None:
        raise errors.SessionNotFound()
    return subject_id


async def member_jwt(
    ctx: Context, row: SessionRow, roles: list[str], organization_slug: str, *, signing_kid: str | None = None
) -> str:
    return await jwts.mint(
        ctx,
        signing_kid=signing_kid,
        session_id=row.session_id,
        subject=_subject(row.member_id),
        session_claim=_session_claim(row, roles),
        organization_claim={"organization_id": row.organization_id, "slug": organization_slug},
        custom_claims=row.custom_claims or {},
    )


async def user_jwt(ctx: Context, row: SessionRow, roles: list[str], *, signing_kid: str | None = None) -> str:
    return await jwts.mint(
        ctx,
        signing_kid=signing_kid,
        session_id=row.session_id,
        subject=_subject(row.user_id),
        session_claim=_session_claim(row, roles),
        organization_claim=None,
        custom_claims=row.custom_claims or {},
    )


def member_session_json(row: SessionRow, roles: list[str], organization_slug: str) -> dict[str, Any]:
    """Stytch's MemberSession (PY `b2b/models/sessions.py`)."""
    return {
        "member_session_id": row.session_id,
        "member_id": row.member_id,
        "started_at": rfc3339(row.started_at),
        "last_accessed_at": rfc3339(row.last_accessed_at),
        "expires_at": rfc3339(row.expires_at),
        "authentication_factors": row.authentication_factors,
        "organization_id": row.organization_id,
        "roles": roles,
        "organization_slug": organization_slug,
        "custom_claims": row.custom_claims or {},
    }


def user_session_json(row: SessionRow, roles: list[str]) -> dict[str, Any]:
    """Stytch's consumer Session (PY `consumer/models/sessions.py`)."""
    return {
        "session_id": row.session_id,
        "user_id": row.user_id,
        "started_at": rfc3339(row.started_at),
        "last_accessed_at": rfc3339(row.last_accessed_at),
        "expires_at": rfc3339(row.expires_at),
        "attributes": row.attributes or {"ip_address": "", "user_agent": ""},
        "authentication_factors": row.authentication_factors,
        "custom_claims": row.custom_claims or {},
        "roles": roles,
    }
