"""The SSO API (PY `b2b/api/sso.py`, `sso_oidc.py`, `sso_external.py`): connections of every
kind listed and deleted, OIDC and external connections created and updated, and
`sso.authenticate`. SAML connections have their own routes (sso/routes_saml.py)."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.members import service as members_service
from keystile.sso import external, kinds, login, oidc, oidc_tokens, service
from keystile.sso.schemas import (
    AuthenticateRequest,
    ExternalCreateRequest,
    ExternalUpdateRequest,
    OIDCCreateRequest,
    OIDCUpdateRequest,
)

router = APIRouter()
assert kinds  # every kind registered before the first request


@router.get("/v1/b2b/sso/{organization_id}")
async def get_connections(organization_id: str, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.get_connections(ctx, organization_id))


@router.delete("/v1/b2b/sso/{organization_id}/connections/{connection_id}")
async def delete_connection(organization_id: str, connection_id: str, ctx: Ctx) -> JSON:
    deleted = await service.delete_connection(ctx, organization_id, connection_id)
    return ok(ctx.request_id, connection_id=deleted)


@router.post("/v1/b2b/sso/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    result = await login.authenticate(
        ctx,
        body.sso_token,
        pkce_code_verifier=body.pkce_code_verifier,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
        intermediate_session_token=body.intermediate_session_token,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/sso/oidc/{organization_id}")
async def oidc_create(organization_id: str, body: OIDCCreateRequest, ctx: Ctx) -> JSON:
    row = await oidc.create_connection(
        ctx, organization_id, display_name=body.display_name, identity_provider=body.identity_provider
    )
    return ok(ctx.request_id, connection=oidc.connection_json(ctx, row))


@router.put("/v1/b2b/sso/oidc/{organization_id}/connections/{connection_id}")
async def oidc_update(organization_id: str, connection_id: str, body: OIDCUpdateRequest, ctx: Ctx) -> JSON:
    row, warning = await oidc.update_connection(
        ctx,
        organization_id,
        connection_id,
        display_name=body.display_name,
        client_id=body.client_id,
        client_secret=body.client_secret,
        issuer=body.issuer,
        authorization_url=body.authorization_url,
        token_url=body.token_url,
        userinfo_url=body.userinfo_url,
        jwks_url=body.jwks_url,
        identity_provider=body.identity_provider,
        custom_scopes=body.custom_scopes,
        attribute_mapping=body.attribute_mapping,
    )
    return ok(ctx.request_id, connection=oidc.connection_json(ctx, row), warning=warning)


@router.post("/v1/b2b/sso/external/{organization_id}")
async def external_create(organization_id: str, body: ExternalCreateRequest, ctx: Ctx) -> JSON:
    row = await external.create_connection(
        ctx,
        organization_id,
        external_organization_id=body.external_organization_id,
        external_connection_id=body.external_connection_id,
        display_name=body.display_name,
        connection_implicit_role_assignments=[a.model_dump() for a in body.connection_implicit_role_assignments or []],
        group_implicit_role_assignments=[a.model_dump() for a in body.group_implicit_role_assignments or []],
    )
    return ok(ctx.request_id, connection=external.connection_json(ctx, row))


@router.put("/v1/b2b/sso/external/{organization_id}/connections/{connection_id}")
async def external_update(organization_id: str, connection_id: str, body: ExternalUpdateRequest, ctx: Ctx) -> JSON:
    connection_roles = body.external_connection_implicit_role_assignments
    group_roles = body.external_group_implicit_role_assignments
    row = await external.update_connection(
        ctx,
        organization_id,
        connection_id,
        display_name=body.display_name,
        connection_implicit_role_assignments=None
        if connection_roles is None
        else [a.model_dump() for a in connection_roles],
        group_implicit_role_assignments=None if group_roles is None else [a.model_dump() for a in group_roles],
    )
    return ok(ctx.request_id, connection=external.connection_json(ctx, row))


@router.get("/v1/b2b/organizations/{organization_id}/members/{member_id}/oidc_providers")
async def oidc_providers(organization_id: str, member_id: str, ctx: Ctx, include_refresh_token: bool = False) -> JSON:
    """organizations.members.oidc_providers: the Member's tokens from each OIDC connection."""
    org = await service.organization(ctx, organization_id)
    member = await members_service.get_existing(ctx, org.organization_id, member_id)
    found = await oidc_tokens.registrations(ctx, member.member_id, include_refresh_token=include_refresh_token)
    return ok(ctx.request_id, registrations=found)
