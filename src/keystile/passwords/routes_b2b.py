"""The B2B password endpoints: /v1/b2b/passwords/… and
DELETE /v1/b2b/organizations/{organization_id}/members/passwords/{member_password_id}."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, committing, ok
from keystile.passwords import errors_b2b
from keystile.passwords import service_b2b as service
from keystile.passwords.schemas_b2b import (
    AuthenticateRequest,
    DiscoveryAuthenticateRequest,
    DiscoveryResetRequest,
    DiscoveryResetStartRequest,
    EmailResetRequest,
    EmailResetStartRequest,
    ExistingPasswordResetRequest,
    MigrateRequest,
    RequireResetRequest,
    SessionResetRequest,
    StrengthCheckRequest,
)

router = APIRouter()

# A login that finds the password breached marks it as due for a reset and answers
# `member_reset_password`: the mark must be committed all the same.
MARKED = (errors_b2b.MemberResetPassword,)


@router.post("/v1/b2b/passwords/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    return await committing(ctx.request_id, _authenticate(body, ctx), *MARKED)


async def _authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    result = await service.authenticate(
        ctx,
        body.organization_id,
        body.email_address,
        body.password,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
        intermediate_session_token=body.intermediate_session_token,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/passwords/strength_check")
async def strength_check(body: StrengthCheckRequest, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.strength_check(ctx, body.password, body.email_address))


@router.post("/v1/b2b/passwords/migrate")
async def migrate(body: MigrateRequest, ctx: Ctx) -> JSON:
    result = await service.migrate(
        ctx,
        body.organization_id,
        body.email_address,
        body.hash,
        body.hash_type,
        config=body.hash_config(),
        name=body.name,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        roles=body.roles,
        mfa_phone_number=body.mfa_phone_number,
        set_phone_number_verified=body.set_phone_number_verified,
        external_id=body.external_id,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/passwords/email/reset/start")
async def email_reset_start(body: EmailResetStartRequest, ctx: Ctx) -> JSON:
    result = await service.reset_start(
        ctx,
        body.organization_id,
        body.email_address,
        redirect_url=body.reset_password_redirect_url,
        expiration_minutes=body.reset_password_expiration_minutes,
        code_challenge=body.code_challenge,
        login_redirect_url=body.login_redirect_url,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/passwords/email/reset")
async def email_reset(body: EmailResetRequest, ctx: Ctx) -> JSON:
    result = await service.reset(
        ctx,
        body.password_reset_token,
        body.password,
        code_verifier=body.code_verifier,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
        intermediate_session_token=body.intermediate_session_token,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/passwords/email/require_reset")
async def email_require_reset(body: RequireResetRequest, ctx: Ctx) -> JSON:
    result = await service.require_reset(
        ctx, body.email_address, organization_ref=body.organization_id, member_ref=body.member_id
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/passwords/session/reset")
async def session_reset(body: SessionResetRequest, ctx: Ctx) -> JSON:
    result = await service.session_reset(
        ctx,
        body.organization_id,
        body.password,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/passwords/existing_password/reset")
async def existing_password_reset(body: ExistingPasswordResetRequest, ctx: Ctx) -> JSON:
    return await committing(ctx.request_id, _existing_password_reset(body, ctx), *MARKED)


async def _existing_password_reset(body: ExistingPasswordResetRequest, ctx: Ctx) -> JSON:
    result = await service.existing_password_reset(
        ctx,
        body.organization_id,
        body.email_address,
        body.existing_password,
        body.new_password,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/passwords/discovery/authenticate")
async def discovery_authenticate(body: DiscoveryAuthenticateRequest, ctx: Ctx) -> JSON:
    return await committing(ctx.request_id, _discovery_authenticate(body, ctx), *MARKED)


async def _discovery_authenticate(body: DiscoveryAuthenticateRequest, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.discovery_authenticate(ctx, body.email_address, body.password))


@router.post("/v1/b2b/passwords/discovery/email/reset/start")
async def discovery_email_reset_start(body: DiscoveryResetStartRequest, ctx: Ctx) -> JSON:
    await service.discovery_reset_start(
        ctx,
        body.email_address,
        redirect_url=body.reset_password_redirect_url,
        discovery_redirect_url=body.discovery_redirect_url,
        expiration_minutes=body.reset_password_expiration_minutes,
        pkce_code_challenge=body.pkce_code_challenge,
    )
    return ok(ctx.request_id)


@router.post("/v1/b2b/passwords/discovery/email/reset")
async def discovery_email_reset(body: DiscoveryResetRequest, ctx: Ctx) -> JSON:
    result = await service.discovery_reset(
        ctx, body.password_reset_token, body.password, pkce_code_verifier=body.pkce_code_verifier
    )
    return ok(ctx.request_id, **result)


@router.delete("/v1/b2b/organizations/{organization_id}/members/passwords/{member_password_id}")
async def delete_password(organization_id: str, member_password_id: str, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.delete_password(ctx, organization_id, member_password_id))
