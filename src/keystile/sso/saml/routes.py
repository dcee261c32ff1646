"""SAML connection endpoints (PY `stytch/b2b/api/sso_saml.py`) and each connection's SP
metadata, which an IdP imports (browser-facing: no project secret, the connection names its
project)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.sso import public
from keystile.sso.saml import service
from keystile.sso.saml.schemas import CreateConnectionRequest, UpdateByURLRequest, UpdateConnectionRequest

router = APIRouter()
public_router = APIRouter(include_in_schema=False)


@router.post("/v1/b2b/sso/saml/{organization_id}")
async def create_connection(organization_id: str, body: CreateConnectionRequest, ctx: Ctx) -> JSON:
    connection = await service.create_connection(
        ctx, organization_id, display_name=body.display_name, identity_provider=body.identity_provider
    )
    return ok(ctx.request_id, connection=connection)


@router.put("/v1/b2b/sso/saml/{organization_id}/connections/{connection_id}")
async def update_connection(organization_id: str, connection_id: str, body: UpdateConnectionRequest, ctx: Ctx) -> JSON:
    changes = body.model_dump(exclude_none=True)
    connection = await service.update_connection(ctx, organization_id, connection_id, changes)
    return ok(ctx.request_id, connection=connection)


@router.put("/v1/b2b/sso/saml/{organization_id}/connections/{connection_id}/url")
async def update_by_url(organization_id: str, connection_id: str, body: UpdateByURLRequest, ctx: Ctx) -> JSON:
    connection = await service.update_by_url(ctx, organization_id, connection_id, body.metadata_url)
    return ok(ctx.request_id, connection=connection)


@router.delete(
    "/v1/b2b/sso/saml/{organization_id}/connections/{connection_id}/verification_certificates/{certificate_id}"
)
async def delete_verification_certificate(
    organization_id: str, connection_id: str, certificate_id: str, ctx: Ctx
) -> JSON:
    deleted = await service.delete_verification_certificate(ctx, organization_id, connection_id, certificate_id)
    return ok(ctx.request_id, certificate_id=deleted)


@router.delete(
    "/v1/b2b/sso/saml/{organization_id}/connections/{connection_id}/encryption_private_keys/{private_key_id}"
)
async def delete_encryption_private_key(
    organization_id: str, connection_id: str, private_key_id: str, ctx: Ctx
) -> JSON:
    deleted = await service.delete_encryption_private_key(ctx, organization_id, connection_id, private_key_id)
    return ok(ctx.request_id, private_key_id=deleted)


@public_router.get(service.METADATA_PATH)
async def sp_metadata(request: Request, connection_id: str) -> Response:
    async with public.by_connection(request, connection_id) as ctx:
        xml = await service.sp_metadata(ctx, connection_id)
    return Response(xml, media_type="application/samlmetadata+xml", headers={"Cache-Control": "no-cache"})
