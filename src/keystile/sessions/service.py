"""Sessions for members (B2B) and users (consumer): start, extend, authenticate, revoke.

One table holds both kinds; `kind` keeps them apart, so a B2B session token is never a
consumer session and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import orjson
from sqlalchemy import and_, bindparam, exists, insert, literal_column, select, update
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import crypto, ids
from keystile.core.clock import rfc3339, rfc3339_seconds
from keystile.core.context import Context
from keystile.core.db import Lookup
from keystile.members import repository as members_repo
from keystile.models.organizations import member_retired_emails, members, organizations
from keystile.models.sessions import sessions
from keystile.models.users import user_emails, users
from keystile.sessions import jwts

Kind = Literal["b2b", "consumer"]

MIN_MINUTES, MAX_MINUTES = 5, 527_040
DEFAULT_B2B_MINUTES = 60
LAST_ACCESSED_GRANULARITY = timedelta(seconds=60)
MAX_CUSTOM_CLAIMS_BYTES = 4096


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


def email_factor(now: Any, email_id: str, email: str, factor_type: str = "magic_link") -> dict[str, Any]:
    stamp = rfc3339(now)
    return {
        "type": factor_type,
        "delivery_method": "email",
        "last_authenticated_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
        "email_factor": {"email_id": email_id, "email_address": email},
    }


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

    row: Row[Any]
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
) -> tuple[Row[Any], str]:
    """Start a session, or extend the caller's existing one for the same subject.

    `attributes` ({ip_address, user_agent}) describe the end user as the app reports them;
    the request's own headers describe the app's backend, so they are not used.

    Returns the row and the session token ("" if an existing session was named by JWT)."""
    check_duration(minutes)
    now = ctx.clock.now()
    expires_at = now + timedelta(minutes=minutes)
    if existing_token or existing_jwt:
        current, token = await _find_live(ctx, kind, existing_token, existing_jwt)
        same_subject = current.member_id == member_id and current.organization_id == organization_id
        if kind == "consumer":
            same_subject = current.user_id == user_id
        if same_subject:
            row = (
                await ctx.conn.execute(
                    update(sessions)
                    .where(sessions.c.session_id == current.session_id)
                    .values(
                        authentication_factors=_add_factor(current.authentication_factors, factor),
                        custom_claims=merge_custom_claims(current.custom_claims, custom_claims),
                        expires_at=max(expires_at, current.expires_at),
                        last_accessed_at=now,
                    )
                    .returning(sessions)
                )
            ).one()
            return row, token
    token = crypto.new_token()
    session_id = ids.member_session_id(ctx.live) if kind == "b2b" else ids.session_id(ctx.live)
    row = (
        await ctx.conn.execute(
            insert(sessions)
            .values(
                session_id=session_id,
                project_id=ctx.project_id,
                kind=kind,
                token_hash=crypto.hash_token(token),
                member_id=member_id,
                organization_id=organization_id,
                user_id=user_id,
                authentication_factors=[factor],
                custom_claims=merge_custom_claims({}, custom_claims),
                attributes={
                    "ip_address": (attributes or {}).get("ip_address") or "",
                    "user_agent": (attributes or {}).get("user_agent") or "",
                },
                started_at=now,
                last_accessed_at=now,
                expires_at=expires_at,
            )
            .returning(sessions)
        )
    ).one()
    return row, token


async def _find_live(ctx: Context, kind: Kind, token: str | None, session_jwt: str | None) -> tuple[Row[Any], str]:
    """The live session named by exactly one of token or JWT, and its token if known."""
    if token and session_jwt:
        raise errors.TooManySessionArguments()
    if not token and not session_jwt:
        raise errors.NoSessionArguments()
    if token:
        condition = sessions.c.token_hash == crypto.hash_token(token)
    else:
        claims = await jwts.verify(ctx, session_jwt or "")
        condition = sessions.c.session_id == claims[jwts.SESSION_CLAIM]["id"]
    row = (
        await ctx.conn.execute(
            select(sessions).where(
                condition,
                sessions.c.project_id == ctx.project_id,
                sessions.c.kind == kind,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > ctx.clock.now(),
            )
        )
    ).first()
    if row is None:
        raise errors.SessionNotFound()
    return row, token or ""


def _live_session(condition: Any) -> Any:
    return (
        condition,
        sessions.c.project_id == bindparam("project_id"),
        sessions.c.kind == bindparam("kind"),
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > bindparam("now"),
    )


# Which column a session is looked up by, and the name of its value.
_BY = {"token": (sessions.c.token_hash, "token_hash"), "jwt": (sessions.c.session_id, "session_id")}
# By JWT, the public key the JWT names rides along (the first columns: a Row of their
# own), so its signature is checked after one statement, not two (`_read_by_jwt`).
_KEY_NAMED = {"token": (), "jwt": jwts.named_key_columns()}
# sessions.authenticate's reads, one query each, on the read path (core/db.py): lookups by
# one key, which concurrent requests share on PostgreSQL (`Lookup`).
SESSION = {
    by: Lookup(lambda c, by=by: select(*_KEY_NAMED[by], sessions).where(*_live_session(c)), *key, per_table=True)
    for by, key in _BY.items()
}
# The project's signing kid rides along, so the JWT cache can be checked without another
# round trip (sessions/jwts.py reads it per mint so that a rotation takes effect at once).
SIGNING_KID = jwts.current_kid_column()
# Whether the member has retired addresses (an email change): rare, so the lookup only
# says whether to read them, and the common case stays one statement.
HAS_RETIRED_EMAILS = (
    exists()
    .where(
        member_retired_emails.c.member_id == members.c.member_id,
        member_retired_emails.c.project_id == members.c.project_id,
    )
    .label("has_retired_emails")
)
MEMBER_SESSION = {
    by: Lookup(
        lambda c, by=by: (
            select(*_KEY_NAMED[by], sessions, members, organizations, SIGNING_KID, HAS_RETIRED_EMAILS)
            .join(members, members.c.member_id == sessions.c.member_id)
            .join(organizations, organizations.c.organization_id == members.c.organization_id)
            .where(
                *_live_session(c),
                members.c.project_id == bindparam("project_id"),
                # A literal, not a parameter: SQLite re-prepares a statement on every run when a
                # bound value could decide whether a partial index (status <> 'deleted') applies.
                members.c.status != literal_column("'deleted'"),
            )
        ),
        *key,
        per_table=True,
    )
    for by, key in _BY.items()
}
# The consumer lookup brings the user's emails along, one row per email (a user has at
# least one; the outer join keeps a user without any): one statement instead of two.
USER_SESSION = {
    by: Lookup(
        lambda c, by=by: (
            select(
                *_KEY_NAMED[by],
                sessions,
                users,
                SIGNING_KID,
                user_emails.c.email_id,
                user_emails.c.email,
                user_emails.c.verified,
            )
            .join(users, users.c.user_id == sessions.c.user_id)
            .outerjoin(
                user_emails,
                and_(user_emails.c.user_id == users.c.user_id, user_emails.c.project_id == bindparam("project_id")),
            )
            .where(*_live_session(c), users.c.project_id == bindparam("project_id"))
            .order_by(user_emails.c.created_at, user_emails.c.email_id)
        ),
        *key,
        per_table=True,
    )
    for by, key in _BY.items()
}


async def _read_live(
    ctx: Context,
    lookups: dict[str, Lookup],
    kind: Kind,
    token: str | None,
    session_jwt: str | None,
    *,
    rows: bool = False,
) -> tuple[Any, str]:
    """The live session named by exactly one of token or JWT (with what `lookups` join to
    it), read without opening the request's transaction; and its token if known. With
    `rows`, every row the query gives (a join to several rows), not only the first."""
    if token and session_jwt:
        raise errors.TooManySessionArguments()
    if not token and not session_jwt:
        raise errors.NoSessionArguments()
    where = {"project_id": ctx.project_id, "kind": kind, "now": ctx.clock.now()}
    if token:
        found = await ctx.lookup(lookups["token"], crypto.hash_token(token), **where)
    else:
        found = await _read_by_jwt(ctx, lookups["jwt"], session_jwt or "", where)
    if not found:
        raise errors.SessionNotFound()
    return (found if rows else found[0]), token or ""


async def _read_by_jwt(ctx: Context, lookup: Lookup, session_jwt: str, where: dict[str, Any]) -> list[Any]:
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


async def _touch(ctx: Context, row: Any, minutes: int | None, custom_claims: dict[str, Any] | None) -> Any:
    """Extend the session if asked, and move last_accessed_at; the only write of
    sessions.authenticate, so most calls write nothing."""
    now = ctx.clock.now()
    values: dict[str, Any] = {}
    if minutes is not None:
        values["expires_at"] = now + timedelta(minutes=minutes)
    if custom_claims:
        values["custom_claims"] = merge_custom_claims(row.custom_claims, custom_claims)
    # last_accessed_at moves in steps of a minute: a busy session is not a write per read.
    if not values and now - row.last_accessed_at < LAST_ACCESSED_GRANULARITY:
        return row
    values["last_accessed_at"] = now
    updated = (
        await ctx.conn.execute(
            update(sessions)
            .where(sessions.c.session_id == row.session_id, sessions.c.revoked_at.is_(None))
            .values(**values)
            .returning(sessions)
        )
    ).first()
    if updated is None:  # revoked since it was read
        raise errors.SessionNotFound()
    return updated


async def authenticate(
    ctx: Context,
    kind: Kind,
    *,
    token: str | None,
    session_jwt: str | None,
    minutes: int | None = None,
    custom_claims: dict[str, Any] | None = None,
) -> tuple[Any, str]:
    """sessions.authenticate: find the live session, extend it if asked, touch it."""
    check_duration(minutes)
    (row,), known_token = await _read_live(ctx, SESSION, kind, token, session_jwt)
    return await _touch(ctx, row, minutes, custom_claims), known_token


@dataclass
class MemberSession:
    row: Any
    token: str
    member: Any
    organization: Any
    signing_kid: str | None  # the project's current signing key, read with the session
    retired: list[dict[str, str]]  # Member.retired_email_addresses


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
    (row, member, organization, key), known_token = await _read_live(ctx, MEMBER_SESSION, "b2b", token, session_jwt)
    row = await _touch(ctx, row, minutes, custom_claims)
    retired = []
    if key.has_retired_emails:
        found = await ctx.read_all(
            members_repo.RETIRED_OF_MEMBER, project_id=ctx.project_id, member_id=member.member_id
        )
        retired = [members_repo.retired_json(r) for r in found]
    return MemberSession(row, known_token, member, organization, key.signing_kid, retired)


@dataclass
class UserSession:
    row: Any
    token: str
    user: Any
    emails: list[Any]
    signing_kid: str | None  # the project's current signing key, read with the session


async def authenticate_user(
    ctx: Context,
    *,
    token: str | None,
    session_jwt: str | None,
    minutes: int | None = None,
    custom_claims: dict[str, Any] | None = None,
) -> UserSession:
    """Consumer sessions.authenticate: the session, its user and the user's emails."""
    check_duration(minutes)
    found, known_token = await _read_live(ctx, USER_SESSION, "consumer", token, session_jwt, rows=True)
    row, user, key, _ = found[0]
    emails = [email for *_, email in found if email.email_id is not None]
    row = await _touch(ctx, row, minutes, custom_claims)
    return UserSession(row, known_token, user, emails, key.signing_kid)


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
    if session_id:
        condition = sessions.c.session_id == session_id
    elif token:
        condition = sessions.c.token_hash == crypto.hash_token(token)
    else:
        claims = await jwts.verify(ctx, session_jwt or "")
        condition = sessions.c.session_id == claims[jwts.SESSION_CLAIM]["id"]
    result = await ctx.conn.execute(
        update(sessions)
        .where(
            condition,
            sessions.c.project_id == ctx.project_id,
            sessions.c.kind == kind,
            sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=ctx.clock.now())
        .returning(sessions.c.session_id)
    )
    revoked = result.first()
    if revoked is None:
        raise errors.SessionNotFound()
    ctx.state.jwt_cache.drop(revoked.session_id)


async def revoke_for(ctx: Context, *, member_id: str | None = None, user_id: str | None = None) -> None:
    """Revoke every session of a member or user (deletion, for example)."""
    condition = sessions.c.member_id == member_id if member_id else sessions.c.user_id == user_id
    rows = await ctx.conn.execute(
        update(sessions)
        .where(condition, sessions.c.project_id == ctx.project_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=ctx.clock.now())
        .returning(sessions.c.session_id)
    )
    for row in rows:
        ctx.state.jwt_cache.drop(row.session_id)


async def list_live(ctx: Context, kind: Kind, **subject: str) -> list[Row[Any]]:
    column = sessions.c.member_id if kind == "b2b" else sessions.c.user_id
    value = subject.get("member_id") or subject.get("user_id")
    condition = [column == value]
    if kind == "b2b":
        condition.append(sessions.c.organization_id == subject["organization_id"])
    rows = await ctx.conn.execute(
        select(sessions)
        .where(
            *condition,
            sessions.c.project_id == ctx.project_id,
            sessions.c.kind == kind,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > ctx.clock.now(),
        )
        .order_by(sessions.c.started_at.desc())
    )
    return list(rows)


def _session_claim(row: Row[Any], roles: list[str]) -> dict[str, Any]:
    return {
        "id": row.session_id,
        "started_at": rfc3339_seconds(row.started_at),
        "last_accessed_at": rfc3339_seconds(row.last_accessed_at),
        "expires_at": rfc3339_seconds(row.expires_at),
        "attributes": row.attributes or {"ip_address": "", "user_agent": ""},
        "authentication_factors": row.authentication_factors,
        "roles": roles,
    }


async def member_jwt(
    ctx: Context, row: Row[Any], roles: list[str], organization_slug: str, *, signing_kid: str | None = None
) -> str:
    return await jwts.mint(
        ctx,
        signing_kid=signing_kid,
        session_id=row.session_id,
        subject=row.member_id,
        session_claim=_session_claim(row, roles),
        organization_claim={"organization_id": row.organization_id, "slug": organization_slug},
        custom_claims=row.custom_claims or {},
    )


async def user_jwt(ctx: Context, row: Row[Any], roles: list[str], *, signing_kid: str | None = None) -> str:
    return await jwts.mint(
        ctx,
        signing_kid=signing_kid,
        session_id=row.session_id,
        subject=row.user_id,
        session_claim=_session_claim(row, roles),
        organization_claim=None,
        custom_claims=row.custom_claims or {},
    )


def member_session_json(row: Row[Any], roles: list[str], organization_slug: str) -> dict[str, Any]:
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


def user_session_json(row: Row[Any], roles: list[str]) -> dict[str, Any]:
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
