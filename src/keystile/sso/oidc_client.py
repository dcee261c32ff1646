"""keystile as an OpenID Connect relying party: discovery, the authorization request, the code
exchange with PKCE, the ID token verified against the IdP's JWKS with joserfc (ADR 0018), and
userinfo. Every request goes through core/outbound.py (timeout, size cap, no private
addresses unless allowed). Errors are the sso area's Stytch errors, with messages that say
what the IdP did wrong.

Kept apart from any connection table so that other areas logging in through an OpenID
provider (OAuth with Google or Microsoft, sessions.migrate) can use it too.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from keystile.core import crypto, outbound
from keystile.core.outbound import OutboundError
from keystile.sso.errors import IdentityProviderError, IdentityProviderUnreachable, InvalidIdToken

# Asymmetric signatures only: `none` and HMAC (keyed with the client secret, which the
# client itself holds) are refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 60
JWKS_SECONDS = 600
DEFAULT_SCOPES = "openid email profile"


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


async def discover(settings: Any, issuer: str) -> ProviderMetadata:
    """The issuer's discovery document (OpenID Connect Discovery 1.0 §4); its `issuer` must be
    the one asked for (§4.3)."""
    try:
        doc = await outbound.get_json(settings, discovery_url(issuer))
    except OutboundError as exc:
        raise IdentityProviderUnreachable(f"The issuer's discovery document could not be read: {exc}.") from None
    if not isinstance(doc, dict) or doc.get("issuer") != issuer:
        raise IdentityProviderUnreachable(
            f"The discovery document at {discovery_url(issuer)} names another issuer ({doc.get('issuer')!r})."
            if isinstance(doc, dict)
            else "The discovery document is not a JSON object."
        )
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=str(doc.get("authorization_endpoint") or ""),
        token_endpoint=str(doc.get("token_endpoint") or ""),
        userinfo_endpoint=str(doc.get("userinfo_endpoint") or ""),
        jwks_uri=str(doc.get("jwks_uri") or ""),
        token_auth_methods=tuple(str(m) for m in methods),
    )


def authorization_url(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    nonce: str,
    code_verifier: str,
    extra: dict[str, str] | None = None,
) -> str:
    """The authorization request (code flow, PKCE S256, state and nonce)."""
    params = {
        **(extra or {}),
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": crypto.pkce_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    separator = "&" if urlsplit(authorization_endpoint).query else "?"
    return f"{authorization_endpoint}{separator}{urlencode(params)}"


async def _token_request(
    settings: Any, token_url: str, form: dict[str, str], client_id: str, client_secret: str, auth_method: str
) -> tuple[Any, Any]:
    """POST `form` to the token endpoint with the client's credentials (in the form for
    client_secret_post, else HTTP Basic); the reply and its JSON body."""
    auth = None
    if auth_method == "client_secret_post":
        form = {**form, "client_id": client_id, "client_secret": client_secret}
    else:
        auth = (client_id, client_secret)
    try:
        reply = await outbound.request(settings, "POST", token_url, data=form, auth=auth)
        return reply, reply.json()
    except (OutboundError, ValueError) as exc:
        raise IdentityProviderUnreachable(f"The identity provider's token endpoint failed: {exc}.") from None


async def exchange_code(
    settings: Any,
    token_url: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str,
    code_verifier: str,
    auth_method: str = "client_secret_basic",
) -> dict[str, Any]:
    """The token endpoint's answer to the authorization code (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    reply, body = await _token_request(settings, token_url, form, client_id, client_secret, auth_method)
    if reply.status_code != 200 or not isinstance(body, dict):
        detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
        raise IdentityProviderError(
            f"The identity provider refused the authorization code ({reply.status_code}: {detail or 'no detail'})."
        )
    if not isinstance(body.get("id_token"), str):
        raise IdentityProviderError("The identity provider's token endpoint returned no id_token.")
    return body


async def refresh(
    settings: Any,
    token_url: str,
    *,
    refresh_token: str,
    client_id: str,
    client_secret: str,
    auth_method: str = "client_secret_basic",
) -> dict[str, Any]:
    """The token endpoint's answer to a refresh token (RFC 6749 §6): a new access token."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    reply, body = await _token_request(settings, token_url, form, client_id, client_secret, auth_method)
    if reply.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        detail = (body.get("error_description") or body.get("error")) if isinstance(body, dict) else None
        raise IdentityProviderError(
            f"The identity provider refused the refresh token ({reply.status_code}: {detail or 'no detail'})."
        )
    return body


_jwks: dict[str, tuple[KeySet, float]] = {}


async def _key_set(settings: Any, jwks_url: str, *, fresh: bool) -> KeySet:
    cached = _jwks.get(jwks_url)
    if cached is not None and not fresh and cached[1] > time.monotonic():
        return cached[0]
    try:
        keys = KeySet.import_key_set(await outbound.get_json(settings, jwks_url))
    except OutboundError as exc:
        raise IdentityProviderUnreachable(f"The identity provider's JWKS could not be read: {exc}.") from None
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise IdentityProviderUnreachable(f"The identity provider's JWKS is not usable: {exc}.") from None
    _jwks[jwks_url] = (keys, time.monotonic() + JWKS_SECONDS)
    return keys


def _header(id_token: str) -> dict[str, Any]:
    """The JOSE header, read before verifying to refuse a disallowed algorithm by name."""
    try:
        part = id_token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError):
        raise InvalidIdToken("The ID token is not a JWT.") from None
    if not isinstance(header, dict):
        raise InvalidIdToken("The ID token is not a JWT.")
    return header


async def verify_id_token(
    settings: Any,
    jwks_url: str,
    id_token: str,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: float,
) -> dict[str, Any]:
    """The ID token's claims once verified (OpenID Connect Core §3.1.3.7): signed by a key of
    the IdP's JWKS with an allowed algorithm, `iss` the connection's issuer, `aud` naming
    the client (and `azp` the client when there are several audiences), unexpired at `now`
    (keystile's clock, a minute's leeway), and `nonce` the one the login sent."""
    header = _header(id_token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise InvalidIdToken(f"The ID token is signed with {alg!r}, which keystile does not accept.")
    keys = await _key_set(settings, jwks_url, fresh=False)
    kid = header.get("kid")
    if kid is not None and not any(k.kid == kid for k in keys.keys):
        keys = await _key_set(settings, jwks_url, fresh=True)  # the IdP rotated its keys
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except JoseError as exc:
        raise InvalidIdToken(f"The ID token's signature does not verify against the IdP's JWKS ({exc}).") from None
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=int(now),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise InvalidIdToken(f"The ID token was refused: {exc}.") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise InvalidIdToken("The ID token has several audiences and its azp is not this client.")
    if nonce is not None:
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
            raise InvalidIdToken("The ID token's nonce is not the one this login sent.")
    return claims


async def userinfo(settings: Any, userinfo_url: str, access_token: str, *, sub: str) -> dict[str, Any]:
    """The userinfo endpoint's claims (OpenID Connect Core §5.3), whose `sub` must be the ID
    token's (§5.3.2)."""
    try:
        reply = await outbound.request(
            settings, "GET", userinfo_url, headers={"Authorization": f"Bearer {access_token}"}
        )
        body = reply.json()
    except OutboundError as exc:
        raise IdentityProviderUnreachable(f"The identity provider's userinfo endpoint failed: {exc}.") from None
    if reply.status_code != 200 or not isinstance(body, dict):
        raise IdentityProviderError(f"The identity provider's userinfo endpoint answered {reply.status_code}.")
    if body.get("sub") != sub:
        raise IdentityProviderError("The userinfo endpoint describes another subject than the ID token.")
    return body
