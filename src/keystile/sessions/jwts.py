"""Session JWTs: RS256, five minutes, Stytch's claims (reference §5); reused while fresh.

Signing costs far more than a lookup, so a JWT minted for a session is handed out again
while it has more than a minute to live and the session's claims have not changed.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

import jwt
import orjson
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import Select, bindparam, select

from keystile import errors
from keystile.core.context import Context
from keystile.core.db import Query
from keystile.core.keys import RETIRED_KEY_WINDOW
from keystile.models.projects import signing_keys

JWT_LIFETIME_SECONDS = 300
REUSE_MARGIN_SECONDS = 60
SESSION_CLAIM = "https://stytch.com/session"
ORGANIZATION_CLAIM = "https://stytch.com/organization"
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})

def _current_kid() -> Select[Any]:
    return (
        select(signing_keys.c.kid)
        .where(signing_keys.c.project_id == bindparam("project_id"), signing_keys.c.retired_at.is_(None))
        .order_by(signing_keys.c.created_at.desc())
        .limit(1)
    )


def current_kid_column() -> Any:
    """The project's signing kid as a column `signing_kid`, to read along with a session."""
    return _current_kid().scalar_subquery().label("signing_kid")


CURRENT_KID = Query(_current_kid())
PUBLIC_KEY = Query(
    select(signing_keys.c.public_jwk, signing_keys.c.retired_at).where(
        signing_keys.c.project_id == bindparam("project_id"), signing_keys.c.kid == bindparam("kid")
    )
)


class JWTCache:
    """session_id → (fingerprint, jwt, exp); bounded, per process."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[bytes, str, int]] = OrderedDict()
        self._public: dict[str, Any] = {}

    def get(self, session_id: str, fingerprint: bytes, now: int) -> str | None:
        item = self._items.get(session_id)
        if item and item[0] == fingerprint and item[2] - now > REUSE_MARGIN_SECONDS:
            return item[1]
        return None

    def put(self, session_id: str, fingerprint: bytes, token: str, exp: int) -> None:
        self._items[session_id] = (fingerprint, token, exp)
        self._items.move_to_end(session_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, session_id: str) -> None:
        self._items.pop(session_id, None)

    def public_key(self, kid: str, jwk: dict[str, Any]) -> Any:
        """A JWK parsed once per process (kids are unique across projects)."""
        key = self._public.get(kid)
        if key is None:
            key = self._public[kid] = RSAAlgorithm.from_jwk(jwk)
        return key


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
    cache.put(session_id, fingerprint(key.kid), token, now + JWT_LIFETIME_SECONDS)
    return token


async def _public_key(ctx: Context, kid: str) -> Any | None:
    """The verification key for `kid` if the project publishes it now (Keyring.public_key's
    rule: unretired, or retired less than RETIRED_KEY_WINDOW ago), read on the read path."""
    row = await ctx.read_one(PUBLIC_KEY, project_id=ctx.project_id, kid=kid)
    if row is None:
        return None
    if row.retired_at is not None and row.retired_at <= ctx.clock.now() - RETIRED_KEY_WINDOW:
        return None
    return ctx.state.jwt_cache.public_key(kid, row.public_jwk)


async def verify(ctx: Context, token: str) -> dict[str, Any]:
    """Check signature, issuer and audience of a session JWT; an expired one is accepted
    (sessions.authenticate refreshes it while the session lives). Returns the claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise errors.UnableToParseSessionJWT() from None
    kid = header.get("kid")
    key = await _public_key(ctx, kid) if isinstance(kid, str) else None
    if key is None or header.get("alg") != "RS256":
        raise errors.InvalidSessionJWT("The session JWT was not signed by this project.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=ctx.project_id,
            issuer=f"stytch.com/{ctx.project_id}",
            options={"verify_exp": False, "verify_nbf": False, "require": ["sub", "iat", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise errors.InvalidSessionJWT(f"The session JWT is invalid: {exc}.") from None
    if not isinstance(claims.get(SESSION_CLAIM), dict) or not claims[SESSION_CLAIM].get("id"):
        raise errors.InvalidSessionJWT("The session JWT carries no session claim.")
    return claims


def custom_claims_of(claims: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in claims.items()
        if k not in RESERVED_CLAIMS and k not in (SESSION_CLAIM, ORGANIZATION_CLAIM)
    }


def epoch(value: datetime) -> int:
    return int(value.timestamp())
