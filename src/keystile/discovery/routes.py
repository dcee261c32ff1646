"""B2B discovery: list organizations, exchange an intermediate session, create an organization."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.discovery import service
from keystile.discovery.schemas import CreateOrganizationRequest, ExchangeRequest, ListOrganizationsRequest

router = APIRouter()


@router.post("/v1/b2b/discovery/organizations")
async def list_organizations(body: ListOrganizationsRequest, ctx: Ctx) -> JSON:
    result = await service.list_organizations(
        ctx,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/discovery/intermediate_sessions/exchange")
async def exchange_intermediate_session(body: ExchangeRequest, ctx: Ctx) -> JSON:
    result = await service.exchange_intermediate_session(
        ctx,
        body.intermediate_session_token,
        body.organization_id,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/discovery/organizations/create")
async def create_organization(body: CreateOrganizationRequest, ctx: Ctx) -> JSON:
    result = await service.create_organization(
        ctx,
        body.intermediate_session_token,
        name=body.organization_name,
        slug=body.organization_slug,
        external_id=body.organization_external_id,
        logo_url=body.organization_logo_url,
        trusted_metadata=body.trusted_metadata,
        settings=body.settings(),
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)
