"""POST /v1/b2b/otps/email/login_or_signup, /authenticate, /discovery/send and /discovery/authenticate."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, committing, ok
from keystile.otps import errors
from keystile.otps import service_email as service
from keystile.otps.schemas import (
    EmailAuthenticateRequest,
    EmailDiscoveryAuthenticateRequest,
    EmailDiscoverySendRequest,
    EmailLoginOrSignupRequest,
)

router = APIRouter()


@router.post("/v1/b2b/otps/email/login_or_signup")
async def login_or_signup(body: EmailLoginOrSignupRequest, ctx: Ctx) -> JSON:
    result = await service.login_or_signup(
        ctx,
        body.organization_id,
        body.email_address,
        login_expiration_minutes=body.login_expiration_minutes,
        signup_expiration_minutes=body.signup_expiration_minutes,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/otps/email/authenticate")
async def authenticate(body: EmailAuthenticateRequest, ctx: Ctx) -> JSON:
    # A wrong code is answered, not raised, so the try counted against the code commits.
    return await committing(ctx.request_id, _authenticate(body, ctx), errors.OtpCodeNotFound)


async def _authenticate(body: EmailAuthenticateRequest, ctx: Ctx) -> JSON:
    result = await service.authenticate(
        ctx,
        body.organization_id,
        body.email_address,
        body.code,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        intermediate_session_token=body.intermediate_session_token,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/otps/email/discovery/send")
async def discovery_send(body: EmailDiscoverySendRequest, ctx: Ctx) -> JSON:
    await service.discovery_send(ctx, body.email_address, expiration_minutes=body.discovery_expiration_minutes)
    return ok(ctx.request_id)


@router.post("/v1/b2b/otps/email/discovery/authenticate")
async def discovery_authenticate(body: EmailDiscoveryAuthenticateRequest, ctx: Ctx) -> JSON:
    # A wrong code is answered, not raised, so the try counted against the code commits.
    return await committing(ctx.request_id, _discovery_authenticate(body, ctx), errors.OtpCodeNotFound)


async def _discovery_authenticate(body: EmailDiscoveryAuthenticateRequest, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.discovery_authenticate(ctx, body.email_address, body.code))
