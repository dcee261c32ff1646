"""B2B Organizations: create, get, update, delete, search (stytch.com/docs/b2b/api/organization-object).

Wherever the path names an organization, its id, slug or external id is accepted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.engine import Row

from keystile.core.authz import acting_member, require
from keystile.core.context import Context, Ctx
from keystile.core.policy import WILDCARD
from keystile.core.responses import JSON, ok
from keystile.organizations import guards, service
from keystile.organizations.schemas import CreateRequest, SearchRequest, UpdateRequest
from keystile.organizations.serializers import organization_json

router = APIRouter()


@router.post("/v1/b2b/organizations")
async def create_organization(body: CreateRequest, ctx: Ctx) -> JSON:
    if body.organization_external_id is not None:
        service.validate_external_id(body.organization_external_id)
    row = await service.create_organization(
        ctx,
        name=body.organization_name,
        slug=body.organization_slug,
        logo_url=body.organization_logo_url,
        trusted_metadata=body.trusted_metadata,
        external_id=body.organization_external_id,
        settings=body.settings(),
    )
    return ok(ctx.request_id, organization=organization_json(row))


@router.post("/v1/b2b/organizations/search")
async def search_organizations(body: SearchRequest, ctx: Ctx) -> JSON:
    rows, total, next_cursor = await service.search_organizations(
        ctx, cursor=body.cursor, limit=body.limit, query=body.query
    )
    return ok(
        ctx.request_id,
        organizations=[organization_json(row) for row in rows],
        results_metadata={"total": total, "next_cursor": next_cursor},
    )


@router.get("/v1/b2b/organizations/{organization_id}")
async def get_organization(organization_id: str, ctx: Ctx) -> JSON:
    row = await service.get(ctx, organization_id)
    return ok(ctx.request_id, organization=organization_json(row))


@router.put("/v1/b2b/organizations/{organization_id}")
async def update_organization(organization_id: str, body: UpdateRequest, ctx: Ctx) -> JSON:
    current = await service.get(ctx, organization_id)
    await guards.organization_update(ctx, current, body)
    row = await service.update_organization(
        ctx,
        current,
        name=body.organization_name,
        slug=body.organization_slug,
        logo_url=body.organization_logo_url,
        trusted_metadata=body.trusted_metadata,
        external_id=body.organization_external_id,
        settings=body.settings(),
    )
    return ok(ctx.request_id, organization=organization_json(row))


@router.delete("/v1/b2b/organizations/{organization_id}")
async def delete_organization(organization_id: str, ctx: Ctx) -> JSON:
    row = await service.get(ctx, organization_id)
    await guards.organization_delete(ctx, row)
    await service.delete_organization(ctx, row)
    return ok(ctx.request_id, organization_id=row.organization_id)


@router.get("/v1/b2b/organizations/{organization_id}/metrics")
async def metrics(organization_id: str, ctx: Ctx) -> JSON:
    row = await service.get(ctx, organization_id)
    return ok(ctx.request_id, member_count=await service.member_count(ctx, row))


@router.delete("/v1/b2b/organizations/{organization_id}/external_id")
async def delete_external_id(organization_id: str, ctx: Ctx) -> JSON:
    row = await service.get(ctx, organization_id)
    await _as_member(ctx, row, [(guards.ORGANIZATION, WILDCARD)])
    row = await service.delete_external_id(ctx, row)
    return ok(ctx.request_id, organization=organization_json(row))


async def _as_member(ctx: Context, organization: Row[Any], needs: list[tuple[str, str]]) -> None:
    """With a Member session header, the Member must belong here and hold `needs`; Stytch
    documents no action for this endpoint, so it takes the wildcard (as organizations/guards.py does)."""
    actor = await acting_member(ctx)
    if actor is not None:
        require(actor, organization.organization_id, needs)
