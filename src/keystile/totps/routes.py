"""POST /v1/b2b/totp, /v1/b2b/totp/authenticate, /v1/b2b/totp/migrate and
DELETE /v1/b2b/organizations/{organization_id}/members/{member_id}/totp."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.totps import service
from keystile.totps.schemas import AuthenticateRequest, CreateRequest, MigrateRequest

router = APIRouter()


@router.post("/v1/b2b/totp")
async def create(body: CreateRequest, ctx: Ctx) -> JSON:
    result = await service.create(
        ctx,
        body.organization_id,
        body.member_id,
        expiration_minutes=body.expiration_minutes,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/totp/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    result = await service.authenticate(
        ctx,
        body.organization_id,
        body.member_id,
        body.code,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
        set_mfa_enrollment=body.set_mfa_enrollment,
        set_default_mfa=body.set_default_mfa,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/totp/migrate")
async def migrate(body: MigrateRequest, ctx: Ctx) -> JSON:
    result = await service.migrate(
        ctx, body.organization_id, body.member_id, secret=body.secret, recovery=body.recovery_codes or []
    )
    return ok(ctx.request_id, **result)


@router.delete("/v1/b2b/organizations/{organization_id}/members/{member_id}/totp")
async def delete_totp(organization_id: str, member_id: str, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.delete_totp(ctx, organization_id, member_id))
