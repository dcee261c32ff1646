"""POST /v1/b2b/impersonation/authenticate and POST /v1/impersonation/authenticate."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.impersonation import service
from keystile.impersonation.schemas import AuthenticateRequest

router = APIRouter()


@router.post("/v1/b2b/impersonation/authenticate")
async def authenticate_member(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.authenticate_member(ctx, body.impersonation_token))


@router.post("/v1/impersonation/authenticate")
async def authenticate_user(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.authenticate_user(ctx, body.impersonation_token))
