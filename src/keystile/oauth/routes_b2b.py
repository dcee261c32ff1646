"""B2B OAuth: the browser's start routes (organization login and discovery, per provider),
oauth.authenticate, oauth.discovery.authenticate, and a Member's provider tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.oauth import callback, member_tokens, service_b2b
from keystile.oauth.routes_callback import redirect_with_cookie, start_query
from keystile.oauth.schemas_b2b import AuthenticateRequest, DiscoveryAuthenticateRequest

router = APIRouter()


@router.get("/v1/b2b/public/oauth/{provider}/start", include_in_schema=False)
async def start(provider: str, request: Request) -> Response:
    query, provider_params = start_query(request)
    async with callback.public_context(
        request.app.state.keystile, query.get("public_token", ""), request.state.request_id
    ) as ctx:
        started = await service_b2b.start(
            ctx,
            provider,
            organization_id=query.get("organization_id") or None,
            slug=query.get("slug") or None,
            login_redirect_url=query.get("login_redirect_url") or None,
            signup_redirect_url=query.get("signup_redirect_url") or None,
            custom_scopes=query.get("custom_scopes") or None,
            pkce_code_challenge=query.get("pkce_code_challenge") or None,
            provider_params=provider_params,
        )
    return redirect_with_cookie(started, ctx.project.public_token)


@router.get("/v1/b2b/public/oauth/{provider}/discovery/start", include_in_schema=False)
async def discovery_start(provider: str, request: Request) -> Response:
    query, provider_params = start_query(request)
    async with callback.public_context(
        request.app.state.keystile, query.get("public_token", ""), request.state.request_id
    ) as ctx:
        started = await service_b2b.discovery_start(
            ctx,
            provider,
            discovery_redirect_url=query.get("discovery_redirect_url") or None,
            custom_scopes=query.get("custom_scopes") or None,
            pkce_code_challenge=query.get("pkce_code_challenge") or None,
            provider_params=provider_params,
        )
    return redirect_with_cookie(started, ctx.project.public_token)


@router.post("/v1/b2b/oauth/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    result = await service_b2b.authenticate(
        ctx,
        body.oauth_token,
        pkce_code_verifier=body.pkce_code_verifier,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        intermediate_session_token=body.intermediate_session_token,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/oauth/discovery/authenticate")
async def discovery_authenticate(body: DiscoveryAuthenticateRequest, ctx: Ctx) -> JSON:
    result = await service_b2b.discovery_authenticate(
        ctx, body.discovery_oauth_token, pkce_code_verifier=body.pkce_code_verifier
    )
    return ok(ctx.request_id, **result)


PROVIDER_TOKENS = "/v1/b2b/organizations/{organization_id}/members/{member_id}/oauth_providers/"


@router.get(PROVIDER_TOKENS + "google")
async def google(organization_id: str, member_id: str, ctx: Ctx, include_refresh_token: bool = False) -> JSON:
    result = await member_tokens.openid(
        ctx, organization_id, member_id, "google", include_refresh_token=include_refresh_token
    )
    return ok(ctx.request_id, **result)


@router.get(PROVIDER_TOKENS + "microsoft")
async def microsoft(organization_id: str, member_id: str, ctx: Ctx, include_refresh_token: bool = False) -> JSON:
    result = await member_tokens.openid(
        ctx, organization_id, member_id, "microsoft", include_refresh_token=include_refresh_token
    )
    return ok(ctx.request_id, **result)


@router.get(PROVIDER_TOKENS + "slack")
async def slack(organization_id: str, member_id: str, ctx: Ctx) -> JSON:
    result = await member_tokens.listed(ctx, organization_id, member_id, "slack", include_refresh_token=False)
    return ok(ctx.request_id, **result)


@router.get(PROVIDER_TOKENS + "hubspot")
async def hubspot(organization_id: str, member_id: str, ctx: Ctx, include_refresh_token: bool = False) -> JSON:
    result = await member_tokens.listed(
        ctx, organization_id, member_id, "hubspot", include_refresh_token=include_refresh_token
    )
    return ok(ctx.request_id, **result)


@router.get(PROVIDER_TOKENS + "github")
async def github(organization_id: str, member_id: str, ctx: Ctx, include_refresh_token: bool = False) -> JSON:
    result = await member_tokens.listed(
        ctx, organization_id, member_id, "github", include_refresh_token=include_refresh_token
    )
    return ok(ctx.request_id, **result)
