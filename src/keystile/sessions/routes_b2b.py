"""B2B member sessions: authenticate, get, revoke, exchange (stytch.com/docs/b2b/api/sessions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import BaseRoute

from keystile.core.context import Context, Ctx
from keystile.core.responses import JSON, ok
from keystile.core.schemas import JwtStr, RequestModel
from keystile.core.thin import thin_post
from keystile.members import service as members_service
from keystile.members.serializers import member_json, member_roles, role_ids
from keystile.organizations import service as orgs_service
from keystile.organizations.serializers import organization_json
from keystile.sessions import guards, service, service_b2b

router = APIRouter()
# Served ahead of every router (the area's hot_routes, sessions/area.py).
hot_routes: list[BaseRoute] = []


class AuthorizationCheck(RequestModel):
    organization_id: str
    resource_id: str
    action: str


class AuthenticateRequest(RequestModel):
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    authorization_check: AuthorizationCheck | None = None


class RevokeRequest(RequestModel):
    member_session_id: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    member_id: str | None = None


class ExchangeRequest(RequestModel):
    organization_id: str
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    telemetry_id: str | None = None


# The hot path: a thin route (core/thin.py), same behaviour as a FastAPI route.
@thin_post(hot_routes, "/v1/b2b/sessions/authenticate", AuthenticateRequest)
async def authenticate(body: AuthenticateRequest, ctx: Context) -> JSON:
    found = await service.authenticate_member(
        ctx,
        token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    row, token, member, organization = found.row, found.token, found.member, found.organization
    member_role_list = member_roles(member, organization)
    roles = role_ids(member, roles=member_role_list)
    check = body.authorization_check
    verdict = await service_b2b.authorize(ctx, organization, roles, **check.model_dump()) if check is not None else None
    return ok(
        ctx.request_id,
        member_session=service.member_session_json(row, roles, organization.slug),
        session_token=token,
        session_jwt=await service.member_jwt(ctx, row, roles, organization.slug, signing_kid=found.signing_kid),
        member=member_json(member, organization, found.retired, roles=member_role_list),
        organization=organization_json(organization),
        verdict=verdict,
    )


@router.get("/v1/b2b/sessions")
async def get_sessions(ctx: Ctx, organization_id: str, member_id: str) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    member = await members_service.get(ctx, organization.organization_id, member_id)
    rows = await service.list_live(ctx, "b2b", member_id=member.member_id, organization_id=organization.organization_id)
    roles = role_ids(member, organization)
    return ok(ctx.request_id, member_sessions=[service.member_session_json(r, roles, organization.slug) for r in rows])


@router.post("/v1/b2b/sessions/revoke")
async def revoke(body: RevokeRequest, ctx: Ctx) -> JSON:
    await guards.session_revoke(ctx, body)
    await service_b2b.revoke(
        ctx,
        member_session_id=body.member_session_id,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        member_id=body.member_id,
    )
    return ok(ctx.request_id)


@router.post("/v1/b2b/sessions/exchange")
async def exchange(body: ExchangeRequest, ctx: Ctx) -> JSON:
    result = await service_b2b.exchange(
        ctx,
        body.organization_id,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(ctx.request_id, **result)
