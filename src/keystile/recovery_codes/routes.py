"""POST /v1/b2b/recovery_codes/recover, GET /v1/b2b/recovery_codes/{organization_id}/{member_id},
POST /v1/b2b/recovery_codes/rotate."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.recovery_codes import service
from keystile.recovery_codes.schemas import RecoverRequest, RotateRequest

router = APIRouter()


@router.post("/v1/b2b/recovery_codes/recover")
async def recover(body: RecoverRequest, ctx: Ctx) -> JSON:
    result = await service.recover(
        ctx,
        body.organization_id,
        body.member_id,
        body.recovery_code,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/recovery_codes/rotate")
async def rotate(body: RotateRequest, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.rotate(ctx, body.organization_id, body.member_id))


@router.get("/v1/b2b/recovery_codes/{organization_id}/{member_id}")
async def get(organization_id: str, member_id: str, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.get(ctx, organization_id, member_id))
