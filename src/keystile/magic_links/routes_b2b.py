"""B2B email magic links: discovery and organization sends, and their authentication."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.magic_links import service_b2b as service
from keystile.magic_links.schemas_b2b import (
    AuthenticateRequest,
    DiscoveryAuthenticateRequest,
    DiscoverySendRequest,
    InviteRequest,
    LoginOrSignupRequest,
)
from keystile.members import guards as members_guards

router = APIRouter()


@router.post("/v1/b2b/magic_links/email/discovery/send")
async def send_discovery_email(body: DiscoverySendRequest, ctx: Ctx) -> JSON:
    await service.send_discovery_email(
        ctx,
        body.email_address,
        redirect_url=body.discovery_redirect_url,
        pkce_code_challenge=body.pkce_code_challenge,
        expiration_minutes=body.discovery_expiration_minutes,
    )
    return ok(ctx.request_id)


@router.post("/v1/b2b/magic_links/discovery/authenticate")
async def authenticate_discovery(body: DiscoveryAuthenticateRequest, ctx: Ctx) -> JSON:
    result = await service.authenticate_discovery(
        ctx, body.discovery_magic_links_token, pkce_code_verifier=body.pkce_code_verifier
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/magic_links/email/login_or_signup")
async def login_or_signup(body: LoginOrSignupRequest, ctx: Ctx) -> JSON:
    result = await service.login_or_signup(
        ctx,
        body.organization_id,
        body.email_address,
        login_redirect_url=body.login_redirect_url,
        signup_redirect_url=body.signup_redirect_url,
        pkce_code_challenge=body.pkce_code_challenge,
        login_expiration_minutes=body.login_expiration_minutes,
        signup_expiration_minutes=body.signup_expiration_minutes,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/magic_links/email/invite")
async def invite(body: InviteRequest, ctx: Ctx) -> JSON:
    await members_guards.invite(ctx, body.organization_id, body)
    result = await service.invite(
        ctx,
        body.organization_id,
        body.email_address,
        redirect_url=body.invite_redirect_url,
        invited_by_member_id=body.invited_by_member_id,
        name=body.name,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        roles=body.roles,
        expiration_minutes=body.invite_expiration_minutes,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/magic_links/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    result = await service.authenticate(
        ctx,
        body.magic_links_token,
        pkce_code_verifier=body.pkce_code_verifier,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)
