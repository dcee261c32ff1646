"""OIDC connections (stytch.com/docs/b2b/api/oidc-connection-object): create and update
(discovery of the issuer's metadata, the client secret sealed), and a login through one:
the authorization request (code flow, PKCE, state bound to the browser, nonce) and its
callback (code exchanged, ID token verified, userinfo read)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.sso import login, oidc_client, oidc_tokens, service
from keystile.sso.errors import IdentityProviderError, MissingEmail
from keystile.sso.login import Flow, Identity
from keystile.sso.urls import callback_url

if TYPE_CHECKING:
    from fastapi import Request

# What a connection needs before it turns active (PY `sso_oidc.update_connection`).
REQUIRED = ("issuer", "client_id", "client_secret", "authorization_url", "token_url", "userinfo_url", "jwks_url")
ENDPOINTS = ("authorization_url", "token_url", "userinfo_url", "jwks_url")


def connection_json(ctx: Context, row: Record) -> dict[str, Any]:
    """Stytch's OIDCConnection."""
    config = row.config or {}
    return {
        "organization_id": row.organization_id,
        "connection_id": row.connection_id,
        "status": row.status,
        "display_name": row.display_name,
        "redirect_url": callback_url(ctx.state.settings.base_url, row.connection_id),
        "client_id": config.get("client_id", ""),
        "client_secret": service.unseal(ctx, row, "client_secret"),
        "issuer": config.get("issuer", ""),
        "authorization_url": config.get("authorization_url", ""),
        "token_url": config.get("token_url", ""),
        "userinfo_url": config.get("userinfo_url", ""),
        "jwks_url": config.get("jwks_url", ""),
        "identity_provider": row.identity_provider,
        "custom_scopes": config.get("custom_scopes", ""),
        "attribute_mapping": config.get("attribute_mapping"),
    }


async def create_connection(
    ctx: Context, organization_ref: str, *, display_name: str | None, identity_provider: str | None
) -> Row[Any]:
    """A new connection, pending until its IdP's values are set
    (stytch.com/docs/b2b/api/create-oidc-connection)."""
    service.check_display_name(display_name)
    org = await service.organization(ctx, organization_ref, action="create")
    return await service.create(
        ctx,
        org,
        "oidc",
        status=service.PENDING,
        display_name=display_name or "",
        identity_provider=service.identity_provider(identity_provider),
        config={name: "" for name in REQUIRED if name != "client_secret"} | {"custom_scopes": ""},
    )


def _url(name: str, value: str) -> str:
    if value and not value.startswith(("https://", "http://")):
        raise errors.InvalidArgument(f"{name} must be an http(s) URL.")
    return value


async def update_connection(
    ctx: Context,
    organization_ref: str,
    connection_id: str,
    *,
    display_name: str | None,
    client_id: str | None,
    client_secret: str | None,
    issuer: str | None,
    authorization_url: str | None,
    token_url: str | None,
    userinfo_url: str | None,
    jwks_url: str | None,
    identity_provider: str | None,
    custom_scopes: str | None,
    attribute_mapping: dict[str, Any] | None,
) -> tuple[Row[Any], str | None]:
    """Update a connection (stytch.com/docs/b2b/api/update-oidc-connection). A new issuer's
    discovery document fills the endpoints the request does not give; when it cannot be read
    the update goes ahead with what was given and says why in `warning`. The connection turns
    active once every IdP value is known."""
    service.check_display_name(display_name)
    org = await service.organization(ctx, organization_ref, action="update")
    row = await service.get(ctx, org.organization_id, connection_id, kind="oidc")
    config = dict(row.config or {})
    given = {
        "authorization_url": authorization_url,
        "token_url": token_url,
        "userinfo_url": userinfo_url,
        "jwks_url": jwks_url,
    }
    warning = None
    if issuer is not None and issuer != config.get("issuer"):
        _url("issuer", issuer)
        config["issuer"] = issuer
        try:
            metadata = await oidc_client.discover(ctx.state.settings, issuer)
        except errors.StytchError as exc:
            warning = exc.message
        else:
            found = {
                "authorization_url": metadata.authorization_endpoint,
                "token_url": metadata.token_endpoint,
                "userinfo_url": metadata.userinfo_endpoint,
                "jwks_url": metadata.jwks_uri,
            }
            config.update({k: v for k, v in found.items() if v})
            config["token_auth_method"] = (
                "client_secret_basic"
                if "client_secret_basic" in metadata.token_auth_methods
                else "client_secret_post"
                if "client_secret_post" in metadata.token_auth_methods
                else "client_secret_basic"
            )
    for name, value in given.items():
        if value is not None:
            config[name] = _url(name, value)
    if client_id is not None:
        config["client_id"] = client_id
    if custom_scopes is not None:
        config["custom_scopes"] = custom_scopes
    if attribute_mapping is not None:
        config["attribute_mapping"] = attribute_mapping
    has_secret = bool(client_secret) or (client_secret is None and bool((row.secrets or {}).get("client_secret")))
    complete = has_secret and all(config.get(name) for name in REQUIRED if name != "client_secret")
    values: dict[str, Any] = {"config": config, "status": service.ACTIVE if complete else row.status}
    if display_name is not None:
        values["display_name"] = display_name
    if identity_provider is not None:
        values["identity_provider"] = service.identity_provider(identity_provider)
    secret_change = {"client_secret": client_secret or None} if client_secret is not None else None
    updated = await service.update(ctx, row, secrets=secret_change, **values)
    return updated, warning


async def start(ctx: Context, connection: Record, flow: Flow, options: dict[str, str]) -> tuple[str, str, str]:
    """The authorization request to the connection's IdP; the flow keeps the nonce and the
    PKCE verifier. `custom_scopes` in the start URL adds scopes to the connection's."""
    config = connection.config or {}
    nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    data: dict[str, Any] = {"nonce": nonce, "code_verifier": verifier}
    if flow.connection_id != connection.connection_id:
        data["via"] = connection.connection_id  # an external connection's login
    state, browser = await login.open_flow(ctx, replace(flow, data={**flow.data, **data}))
    scope = config.get("custom_scopes") or oidc_client.DEFAULT_SCOPES
    if options.get("custom_scopes"):
        scope = f"{scope} {options['custom_scopes']}"
    extra = {k.removeprefix("provider_"): v for k, v in options.items() if k.startswith("provider_")}
    url = oidc_client.authorization_url(
        config["authorization_url"],
        client_id=config["client_id"],
        redirect_uri=callback_url(ctx.state.settings.base_url, connection.connection_id),
        scope=" ".join(dict.fromkeys(scope.split())),
        state=state,
        nonce=nonce,
        code_verifier=verifier,
        extra=extra,
    )
    return url, state, browser


def _mapped(claims: dict[str, Any], mapping: dict[str, Any] | None, name: str, default: str) -> str:
    """A claim by the connection's attribute_mapping ({"email": "upn"}) or its usual name."""
    key = (mapping or {}).get(name) or default
    value = claims.get(str(key))
    return value if isinstance(value, str) else ""


async def callback(request: Request, ctx: Context, connection: Record) -> tuple[Identity, Flow | None]:
    """The IdP's redirect back: the flow taken back (state, browser), the code exchanged with
    the flow's PKCE verifier, the ID token verified (issuer, audience, expiry, algorithm,
    nonce) and userinfo read."""
    params = request.query_params
    state = params.get("state", "")
    flow = await login.redeem_flow(ctx, state, connection, request.cookies.get(login.flow_cookie(state)))
    config = connection.config or {}
    if params.get("error"):
        description = params.get("error_description") or "no description"
        raise IdentityProviderError(f"The identity provider answered {params['error']}: {description}.")
    # RFC 9207: an IdP that names itself in the answer must be this connection's.
    if params.get("iss") is not None and params.get("iss") != config.get("issuer"):
        raise IdentityProviderError("The answer comes from another issuer than the connection's.")
    code = params.get("code")
    if not code:
        raise IdentityProviderError("The identity provider's answer carries no authorization code.")
    settings = ctx.state.settings
    answer = await oidc_client.exchange_code(
        settings,
        config["token_url"],
        code=code,
        redirect_uri=callback_url(settings.base_url, connection.connection_id),
        client_id=config["client_id"],
        client_secret=service.unseal(ctx, connection, "client_secret"),
        code_verifier=str(flow.data.get("code_verifier", "")),
        auth_method=config.get("token_auth_method", "client_secret_basic"),
    )
    claims = await oidc_client.verify_id_token(
        settings,
        config["jwks_url"],
        answer["id_token"],
        issuer=config["issuer"],
        client_id=config["client_id"],
        nonce=str(flow.data.get("nonce", "")),
        now=ctx.clock.now().timestamp(),
    )
    if config.get("userinfo_url") and isinstance(answer.get("access_token"), str):
        info = await oidc_client.userinfo(settings, config["userinfo_url"], answer["access_token"], sub=claims["sub"])
        claims = {**claims, **info}
    mapping = config.get("attribute_mapping")
    email = _mapped(claims, mapping, "email", "email")
    if not email:
        raise MissingEmail()
    if claims.get("email_verified") is False and not (mapping or {}).get("email"):
        raise IdentityProviderError("The identity provider says this email address is not verified.")
    name = _mapped(claims, mapping, "full_name", "name")
    attributes = {
        k: v for k, v in claims.items() if k not in ("aud", "exp", "iat", "nbf", "nonce", "at_hash", "auth_time")
    }
    tokens = oidc_tokens.from_answer(answer, ctx.clock.now())
    identity = Identity(email=email, external_id=str(claims["sub"]), name=name, attributes=attributes, tokens=tokens)
    return identity, flow


KIND = service.Kind(name="oidc", list_key="oidc_connections", serialize=connection_json, start=start, callback=callback)
