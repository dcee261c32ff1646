"""Session JWTs: RS256, five minutes, Stytch's claims (reference §5); reused while fresh.

Signing costs far more than a lookup, so a JWT minted for a session is handed out again
while it has more than a minute to live and the session's claims have not changed. For
the same reason a process checks a JWT's signature once: a JWT it signed or verified is
known by its session, and the same string presented again only needs its key to be
still published.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jwt
import orjson

from keystile import errors
from keystile.core.jwt_cache import JWTCache
from keystile.core.keys import CURRENT_KID, PUBLIC_KEY, RETIRED_KEY_WINDOW

if TYPE_CHECKING:  # the request context brings in the web stack; the CLI uses AppState without it
    from keystile.core.context import Context

JWT_LIFETIME_SECONDS = 300
SESSION_CLAIM = "https://stytch.com/session"
ORGANIZATION_CLAIM = "https://stytch.com/organization"
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})


async def mint(
    ctx: Context,
    *,
    session_id: str,
    subject: str,
    session_claim: dict[str, Any],
    organization_claim: dict[str, Any] | None,
    custom_claims: dict[str, Any],
    signing_kid: str | None = None,
) -> str:
    """A session JWT, reused while it has more than a minute to live and nothing in it
    (claims, signing key) changed. `signing_kid`: the project's current kid if the caller
    read it already (with the session)."""
    cache: JWTCache = ctx.state.jwt_cache
    now = int(ctx.clock.now().timestamp())
    # The signing kid is read on every mint (on the read path), so a rotation (CLI,
    # another process) takes effect at once: a JWT cached under the old kid no longer matches.
    if signing_kid is None:
        current = await ctx.read_one(CURRENT_KID, project_id=ctx.project_id)
        signing_kid = current.kid if current else None

    def fingerprint(kid: str | None) -> bytes:
        return orjson.dumps(
            [
                kid,
                {k: v for k, v in session_claim.items() if k != "last_accessed_at"},
                organization_claim,
                custom_claims,
            ],
            option=orjson.OPT_SORT_KEYS,
        )

    cached = cache.get(session_id, fingerprint(signing_kid), now)
    if cached:
        return cached
    key = await ctx.state.keyring.current(ctx.conn, ctx.project_id)
    claims: dict[str, Any] = {
        **{k: v for k, v in custom_claims.items() if k not in RESERVED_CLAIMS},
        "sub": subject,
        "iss": f"stytch.com/{ctx.project_id}",
        "aud": [ctx.project_id],
        "iat": now,
        "nbf": now,
        "exp": now + JWT_LIFETIME_SECONDS,
        SESSION_CLAIM: session_claim,
    }
    if organization_claim is not None:
        claims[ORGANIZATION_CLAIM] = organization_claim
    token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})
    cache.put(session_id, fingerprint(key.kid), token, now + JWT_LIFETIME_SECONDS, now)
    return token


@dataclass(frozen=True, slots=True)
class Unverified:
    """What a session JWT says, before its signature is checked: only for finding the
    key and session to check it against."""

    kid: str
    claims: dict[str, Any]

    @property
    def session_id(self) -> str:
        return self.claims[SESSION_CLAIM]["id"]


def _segment(segment: str) -> Any:
    return orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def peek(token: str) -> Unverified:
    """The key and claims a session JWT names, unverified. A token that is not a JWT is
    `unable_to_parse_session_jwt`; one that cannot be ours (no kid, another algorithm, no
    session claim) is `jwt_invalid_claims`, as its verification would say."""
    segments = token.split(".")
    try:
        if len(segments) != 3:
            raise ValueError
        header = _segment(segments[0])
    except (ValueError, binascii.Error):
        raise errors.UnableToParseSessionJWT() from None
    if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
        raise errors.InvalidSessionJWT("The session JWT was not signed by this project.")
    try:
        claims = _segment(segments[1])
    except (ValueError, binascii.Error):
        raise errors.InvalidSessionJWT("The session JWT is invalid: its payload is not JSON.") from None
    session = claims.get(SESSION_CLAIM) if isinstance(claims, dict) else None
    if not isinstance(session, dict) or not session.get("id") or not isinstance(session["id"], str):
        raise errors.InvalidSessionJWT("The session JWT carries no session claim.")
    return Unverified(header["kid"], claims)


def check(
    ctx: Context, token: str, unverified: Unverified, jwk: dict[str, Any] | None, retired_at: datetime | None
) -> None:
    """Raise `jwt_invalid_claims` unless `token` is signed by the key it names (read as
    `jwk` and `retired_at`; None if the project has no such key), that key is published
    now (Keyring.public_key's rule: unretired, or retired less than RETIRED_KEY_WINDOW
    ago), and the JWT is issued for this project. Expiry is not checked:
    sessions.authenticate refreshes an expired JWT while its session lives."""
    # Keys are rotated and published (JWKS) on the server's time, not a test project's clock.
    if jwk is None or (retired_at is not None and retired_at <= ctx.state.clock.now() - RETIRED_KEY_WINDOW):
        raise errors.InvalidSessionJWT("The session JWT was not signed by this project.")
    cache: JWTCache = ctx.state.jwt_cache
    # The same string was signed or checked before, against this same key; the key was
    # read within this project (kids are unique across projects), so its issuer and
    # audience were this project's too.
    if cache.is_signed(unverified.session_id, token):
        return
    try:
        jwt.decode(
            token,
            cache.public_key(unverified.kid, jwk),
            algorithms=["RS256"],
            audience=ctx.project_id,
            issuer=f"stytch.com/{ctx.project_id}",
            options={"verify_exp": False, "verify_nbf": False, "require": ["sub", "iat", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise errors.InvalidSessionJWT(f"The session JWT is invalid: {exc}.") from None
    cache.signed(unverified.session_id, token)


async def verify(ctx: Context, token: str) -> dict[str, Any]:
    """Check a session JWT as `check` does, reading its key. Returns the claims."""
    unverified = peek(token)
    key = await ctx.read_one(PUBLIC_KEY, project_id=ctx.project_id, kid=unverified.kid)
    check(ctx, token, unverified, key.public_jwk if key else None, key.retired_at if key else None)
    return unverified.claims


def custom_claims_of(claims: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in claims.items() if k not in RESERVED_CLAIMS and k not in (SESSION_CLAIM, ORGANIZATION_CLAIM)
    }


def epoch(value: datetime) -> int:
    return int(value.timestamp())
