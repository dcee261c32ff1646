"""keystile as an OAuth client of a provider: the code exchanged for tokens (with PKCE), tokens
refreshed, the ID token verified against the provider's keys, the user endpoints read.

The token endpoint is spoken through Authlib's OAuth 2 client; ID tokens are verified with
joserfc, the JOSE library Authlib itself is built on now. Every request has a timeout and a
size limit; a provider that fails or answers nonsense is `ProviderFailed`, never a 500.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from keystile.oauth.providers import ID_TOKEN_ALGORITHMS, Provider

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TOKEN_TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 1_000_000
JWKS_SECONDS = 300.0
# Clock skew allowed when checking an ID token's times.
LEEWAY_SECONDS = 60


class ProviderFailed(Exception):
    """The provider refused or could not be reached; the message says which and why."""


class InvalidIdToken(Exception):
    """The ID token is not the provider's, not for this client, expired, or not this login's."""


@dataclass(frozen=True)
class Client:
    """A project's client at a provider, with the provider's endpoints as configured."""

    provider: Provider
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    id_token: str
    scopes: tuple[str, ...]
    expires_at: datetime | None

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any], now: datetime, asked: tuple[str, ...]) -> TokenSet:
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            raise ProviderFailed("the token endpoint answered without an access_token")
        expires_in = answer.get("expires_in")
        expires_at = None
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
            expires_at = now + timedelta(seconds=int(expires_in))
        scope = answer.get("scope")
        scopes = tuple(scope.replace(",", " ").split()) if isinstance(scope, str) and scope else asked
        refresh = answer.get("refresh_token")
        id_token = answer.get("id_token")
        return cls(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) else "",
            id_token=id_token if isinstance(id_token, str) else "",
            scopes=scopes,
            expires_at=expires_at,
        )


def _oauth(client: Client) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client.client_id,
        client.client_secret,
        token_endpoint_auth_method=client.provider.token_auth,
        # A plain number: Authlib hands it on per request, where an httpx.Timeout is not taken.
        timeout=TOKEN_TIMEOUT_SECONDS,
        follow_redirects=False,
    )


async def exchange_code(
    client: Client, *, code: str, redirect_uri: str, code_verifier: str, now: datetime, scopes: tuple[str, ...]
) -> TokenSet:
    """The authorization code (RFC 6749 §4.1.3) with its PKCE verifier (RFC 7636 §4.5)."""
    try:
        async with _oauth(client) as oauth:
            answer = await oauth.fetch_token(
                client.provider.token_url,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            )
    except (AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
        raise ProviderFailed(f"{client.provider.name}'s token endpoint refused the code: {_why(exc)}") from None
    return TokenSet.from_answer(answer, now, scopes)


async def refresh(client: Client, *, refresh_token: str, now: datetime, scopes: tuple[str, ...]) -> TokenSet:
    """A new access token for a refresh token (RFC 6749 §6). A provider that sends no new
    refresh token keeps the old one valid (the caller keeps it)."""
    try:
        async with _oauth(client) as oauth:
            answer = await oauth.refresh_token(client.provider.token_url, refresh_token=refresh_token)
    except (AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
        raise ProviderFailed(
            f"{client.provider.name}'s token endpoint refused the refresh token: {_why(exc)}"
        ) from None
    return TokenSet.from_answer(answer, now, scopes)


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]


async def get_json(url: str, access_token: str | None = None) -> Any:
    """GET a provider's JSON (a user endpoint with the access token; a JWKS without)."""
    headers = {"Accept": "application/json", "User-Agent": "keystile"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http,
            http.stream("GET", url, headers=headers) as resp,
        ):
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise ProviderFailed(f"{url} answered more than {MAX_ANSWER_BYTES} bytes")
            if resp.status_code != 200:
                raise ProviderFailed(f"{url} answered HTTP {resp.status_code}")
            import json

            return json.loads(bytes(body))
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderFailed(f"{url} could not be read: {_why(exc)}") from None


# The providers' key sets, by URL, for JWKS_SECONDS; fetched again at once for an unknown `kid`
# (a provider rotated its keys).
_jwks: dict[str, tuple[KeySet, float, set[str]]] = {}


async def _keys(url: str, kid: str | None) -> KeySet:
    cached = _jwks.get(url)
    if cached is not None and cached[1] > time.monotonic() and (kid is None or kid in cached[2]):
        return cached[0]
    answer = await get_json(url)
    try:
        keys = KeySet.import_key_set(answer)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ProviderFailed(f"{url} is not a JSON Web Key Set: {_why(exc)}") from None
    kids = {k.get("kid") for k in answer.get("keys", []) if isinstance(k, dict)}
    _jwks[url] = (keys, time.monotonic() + JWKS_SECONDS, {k for k in kids if isinstance(k, str)})
    return keys


def _header_kid(token: str) -> str | None:
    import base64
    import json

    try:
        head = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError):
        raise InvalidIdToken("the ID token is not a JWT") from None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


async def verify_id_token(client: Client, id_token: str, *, nonce: str, now: datetime) -> dict[str, Any]:
    """The ID token's claims, once its signature (by a key of the provider's JWKS, with an
    algorithm of ID_TOKEN_ALGORITHMS), issuer, audience (this client), expiry and nonce
    (this login's) are checked (OpenID Connect Core §3.1.3.7)."""
    provider = client.provider
    keys = await _keys(provider.jwks_url, _header_kid(id_token))
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
    except (JoseError, ValueError) as exc:
        raise InvalidIdToken(f"the ID token's signature does not verify: {_why(exc)}") from None
    claims = dict(token.claims)
    issuer = provider.issuer
    if "{tenant}" in issuer:
        tid = claims.get("tid")
        if not isinstance(tid, str) or not tid:
            raise InvalidIdToken("the ID token names no tenant (tid)")
        issuer = issuer.replace("{tenant}", tid)
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client.client_id},
        exp={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise InvalidIdToken(f"the ID token was refused: {_why(exc)}") from None
    # An ID token for several audiences must name this client as its authorized party.
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client.client_id:
        raise InvalidIdToken("the ID token was issued to another party (azp)")
    return claims


async def answers(client: Client, tokens: TokenSet, id_claims: dict[str, Any] | None) -> dict[str, Any]:
    """What the provider says of the person: the ID token's claims, its user endpoint (for an
    OIDC provider, checked to name the same subject), and its further endpoints."""
    provider = client.provider
    found: dict[str, Any] = {"id_token": id_claims or {}}
    if provider.userinfo_url:
        url = provider.userinfo_url.replace("{access_token}", tokens.access_token)
        userinfo = await get_json(url, tokens.access_token)
        if not isinstance(userinfo, dict):
            raise ProviderFailed(f"{provider.name}'s user endpoint did not answer an object")
        if id_claims is not None and "sub" in userinfo and userinfo.get("sub") != id_claims.get("sub"):
            raise InvalidIdToken("the user endpoint names another subject than the ID token")
        found["userinfo"] = userinfo
    if provider.emails_url:
        found["emails"] = await get_json(provider.emails_url, tokens.access_token)
    if provider.orgs_url:
        found["orgs"] = await get_json(provider.orgs_url, tokens.access_token)
    return found
