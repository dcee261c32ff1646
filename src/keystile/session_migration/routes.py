"""POST /v1/b2b/sessions/migrate and POST /v1/sessions/migrate."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.session_migration import service
from keystile.session_migration.schemas import MigrateMemberRequest, MigrateUserRequest

router = APIRouter()


@router.post("/v1/b2b/sessions/migrate")
async def migrate_member(body: MigrateMemberRequest, ctx: Ctx) -> JSON:
    done = await service.migrate_member(
        ctx,
        body.organization_id,
        body.session_token,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **done)


@router.post("/v1/sessions/migrate")
async def migrate_user(body: MigrateUserRequest, ctx: Ctx) -> JSON:
    done = await service.migrate_user(
        ctx, body.session_token, minutes=body.session_duration_minutes, custom_claims=body.session_custom_claims
    )
    return ok(ctx.request_id, **done)
