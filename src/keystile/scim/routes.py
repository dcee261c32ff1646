"""SCIM connection endpoints (PY `b2b/api/scim_connection.py`). A Member session header
runs them with that Member's `stytch.scim` permissions (core/authz.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from keystile.core.authz import acting_member, require
from keystile.core.context import Context, Ctx
from keystile.core.responses import JSON, ok
from keystile.organizations import service as organizations
from keystile.scim import service
from keystile.scim.schemas import CreateRequest, RotateRequest, UpdateRequest

router = APIRouter()
SCIM = "stytch.scim"


async def _organization(ctx: Context, organization_id: str, action: str) -> Any:
    organization = await organizations.get(ctx, organization_id)
    actor = await acting_member(ctx)
    if actor is not None:
        require(actor, organization.organization_id, [(SCIM, action)])
    return organization


@router.post("/v1/b2b/scim/{organization_id}/connection")
async def create_connection(organization_id: str, body: CreateRequest, ctx: Ctx) -> JSON:
    organization = await _organization(ctx, organization_id, "create")
    row, token = await service.create(
        ctx, organization, display_name=body.display_name, identity_provider=body.identity_provider
    )
    shown = await service.connection_json(ctx, row)
    connection = {
        key: shown[key]
        for key in (
            "organization_id",
            "connection_id",
            "status",
            "display_name",
            "identity_provider",
            "base_url",
            "scim_group_implicit_role_assignments",
            "bearer_token_expires_at",
        )
    }
    return ok(ctx.request_id, connection={**connection, "bearer_token": token})


@router.get("/v1/b2b/scim/{organization_id}/connection")
async def get_connection(organization_id: str, ctx: Ctx) -> JSON:
    organization = await _organization(ctx, organization_id, "get")
    row = await service.get(ctx, organization)
    return ok(ctx.request_id, connection=await service.connection_json(ctx, row) if row is not None else None)


@router.put("/v1/b2b/scim/{organization_id}/connection/{connection_id}")
async def update_connection(organization_id: str, connection_id: str, body: UpdateRequest, ctx: Ctx) -> JSON:
    organization = await _organization(ctx, organization_id, "update")
    row = await service.get_existing(ctx, organization, connection_id)
    assignments = body.scim_group_implicit_role_assignments
    updated = await service.update(
        ctx,
        organization,
        row,
        display_name=body.display_name,
        identity_provider=body.identity_provider,
        assignments=None
        if assignments is None
        else [{"role_id": a.role_id, "group_id": a.group_id} for a in assignments],
    )
    return ok(ctx.request_id, connection=await service.connection_json(ctx, updated))


@router.delete("/v1/b2b/scim/{organization_id}/connection/{connection_id}")
async def delete_connection(organization_id: str, connection_id: str, ctx: Ctx) -> JSON:
    organization = await _organization(ctx, organization_id, "delete")
    row = await service.get_existing(ctx, organization, connection_id)
    await service.delete(ctx, organization, row)
    return ok(ctx.request_id, connection_id=row.connection_id)


@router.get("/v1/b2b/scim/{organization_id}/connection/{connection_id}")
async def get_groups(
    organization_id: str, connection_id: str, ctx: Ctx, cursor: str | None = None, limit: int | None = None
) -> JSON:
    organization = await _organization(ctx, organization_id, "get")
    row = await service.get_existing(ctx, organization, connection_id)
    groups, next_cursor = await service.get_groups(ctx, row, cursor=cursor, limit=limit)
    return ok(ctx.request_id, scim_groups=groups, next_cursor=next_cursor)


@router.post("/v1/b2b/scim/{organization_id}/connection/{connection_id}/rotate/start")
async def rotate_start(organization_id: str, connection_id: str, body: RotateRequest, ctx: Ctx) -> JSON:
    organization = await _organization(ctx, organization_id, "rotate")
    row = await service.get_existing(ctx, organization, connection_id)
    updated, token = await service.rotate_start(ctx, organization, row)
    shown = await service.connection_json(ctx, updated)
    shown.pop("next_bearer_token_last_four")
    return ok(ctx.request_id, connection={**shown, "next_bearer_token": token})


@router.post("/v1/b2b/scim/{organization_id}/connection/{connection_id}/rotate/complete")
async def rotate_complete(organization_id: str, connection_id: str, body: RotateRequest, ctx: Ctx) -> JSON:
    organization = await _organization(ctx, organization_id, "rotate")
    row = await service.get_existing(ctx, organization, connection_id)
    updated = await service.rotate_complete(ctx, organization, row)
    return ok(ctx.request_id, connection=await service.connection_json(ctx, updated))


@router.post("/v1/b2b/scim/{organization_id}/connection/{connection_id}/rotate/cancel")
async def rotate_cancel(organization_id: str, connection_id: str, body: RotateRequest, ctx: Ctx) -> JSON:
    organization = await _organization(ctx, organization_id, "rotate")
    row = await service.get_existing(ctx, organization, connection_id)
    updated = await service.rotate_cancel(ctx, organization, row)
    return ok(ctx.request_id, connection=await service.connection_json(ctx, updated))
