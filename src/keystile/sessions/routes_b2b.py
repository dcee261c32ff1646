"""B2B member sessions: authenticate, get, revoke, exchange (stytch.com/docs/b2b/api/sessions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from keystile import errors
from keystile.core.context import Context, Ctx
from keystile.core.responses import JSON, ok
from keystile.discovery import service as discovery
from keystile.core.thin import thin_post
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.members.serializers import member_json, role_ids
from keystile.models.organizations import members, organizations
from keystile.organizations import repository as orgs_repo
from keystile.organizations.repository import DEFAULT_SETTINGS
from keystile.organizations.serializers import organization_json
from keystile.rbac import guards as rbac_guards
from keystile.rbac.policy import granting_roles
from keystile.rbac.service import organization_policy
from keystile.sessions import service

router = APIRouter()


class AuthorizationCheck(BaseModel):
    organization_id: str
    resource_id: str
    action: str


class AuthenticateRequest(BaseModel):
    session_token: str | None = None
    session_jwt: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    authorization_check: AuthorizationCheck | None = None


class RevokeRequest(BaseModel):
    member_session_id: str | None = None
    session_token: str | None = None
    session_jwt: str | None = None
    member_id: str | None = None


class ExchangeRequest(BaseModel):
    organization_id: str
    session_token: str | None = None
    session_jwt: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    telemetry_id: str | None = None


async def _member_and_org(ctx: Context, session_row: Any) -> tuple[Any, Any]:
    row = (
        await ctx.conn.execute(
            select(members, organizations.c.slug.label("organization_slug"))
            .join(organizations, organizations.c.organization_id == members.c.organization_id)
            .where(members.c.member_id == session_row.member_id, members.c.project_id == ctx.project_id)
        )
    ).first()
    if row is None or row.status == "deleted":
        raise errors.SessionNotFound()
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, row.organization_id)
    return row, organization


# The hot path: a thin route (core/thin.py), same behaviour as a FastAPI route.
@thin_post(router, "/v1/b2b/sessions/authenticate", AuthenticateRequest)
async def authenticate(body: AuthenticateRequest, ctx: Context) -> JSON:
    found = await service.authenticate_member(
        ctx,
        token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    row, token, member, organization = found.row, found.token, found.member, found.organization
    roles = role_ids(member, organization)
    verdict = None
    check = body.authorization_check
    if check is not None:
        # The same rule as the SDKs' local check (PY `shared/rbac_local.py`), on the same policy.
        target = await orgs_repo.find(ctx.conn, ctx.project_id, check.organization_id)
        if target is None or target.organization_id != organization.organization_id:
            raise errors.SessionAuthorizationTenancyError()
        policy = await organization_policy(ctx, organization)
        granting = granting_roles(policy, roles, check.resource_id, check.action)
        if not granting:
            raise errors.SessionAuthorizationError(
                f"The Member is not authorized to perform the {check.action} action on the "
                f"{check.resource_id} Resource."
            )
        verdict = {"authorized": True, "granting_roles": granting}
    return ok(
        ctx.request_id,
        member_session=service.member_session_json(row, roles, organization.slug),
        session_token=token,
        session_jwt=await service.member_jwt(ctx, row, roles, organization.slug, signing_kid=found.signing_kid),
        member=member_json(member, organization),
        organization=organization_json(organization),
        verdict=verdict,
    )


@router.get("/v1/b2b/sessions")
async def get_sessions(ctx: Ctx, organization_id: str, member_id: str) -> JSON:
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_id)
    member = await members_repo.get(ctx.conn, ctx.project_id, organization.organization_id, member_id)
    rows = await service.list_live(
        ctx, "b2b", member_id=member.member_id, organization_id=organization.organization_id
    )
    roles = role_ids(member, organization)
    return ok(ctx.request_id, member_sessions=[service.member_session_json(r, roles, organization.slug) for r in rows])


@router.post("/v1/b2b/sessions/revoke")
async def revoke(body: RevokeRequest, ctx: Ctx) -> JSON:
    await rbac_guards.session_revoke(ctx, body)
    if body.member_id and not any((body.member_session_id, body.session_token, body.session_jwt)):
        exists = (
            await ctx.conn.execute(
                select(members.c.member_id).where(
                    members.c.project_id == ctx.project_id, members.c.member_id == body.member_id
                )
            )
        ).first()
        if exists is None:
            raise errors.MemberNotFound()
        await service.revoke_for(ctx, member_id=body.member_id)
    else:
        if body.member_id:
            raise errors.TooManySessionRevokeArguments(
                "Pass one of member_session_id, session_token, session_jwt or member_id."
            )
        await service.revoke(
            ctx, "b2b", session_id=body.member_session_id, token=body.session_token, session_jwt=body.session_jwt
        )
    return ok(ctx.request_id)


def primary_required(organization: Any, factors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What an organization with restricted auth methods still needs from this session."""
    settings = {**DEFAULT_SETTINGS, **(organization.settings or {})}
    if settings["auth_methods"] != "RESTRICTED":
        return None
    allowed = set(settings["allowed_auth_methods"])
    used = {"magic_link" if f["type"] == "magic_link" else f["type"] for f in factors}
    if used & allowed:
        return None
    return {"allowed_auth_methods": sorted(allowed)}


@router.post("/v1/b2b/sessions/exchange")
async def exchange(body: ExchangeRequest, ctx: Ctx) -> JSON:
    """Switch organizations: a session for the same person's membership in another organization
    (stytch.com/docs/b2b/api/exchange-session). Joining by JIT is not possible here."""
    current, _ = await service.authenticate(ctx, "b2b", token=body.session_token, session_jwt=body.session_jwt)
    service.check_duration(body.session_duration_minutes)
    source_member, _ = await _member_and_org(ctx, current)
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, body.organization_id)
    member = await members_repo.find_by_email(
        ctx.conn, ctx.project_id, organization.organization_id, source_member.email
    )
    if member is None or member.status == "deleted":
        raise errors.InvalidIntermediateSessionForOrganization(
            "This member has no membership in that organization; join by email domain through discovery."
        )
    factors = current.authentication_factors
    needed = None if member.is_breakglass else primary_required(organization, factors)
    if needed is not None:
        ist, ist_row = await discovery.issue_intermediate_session(
            ctx, member.email, factor_type=factors[-1]["type"], organization_id=organization.organization_id
        )
        return ok(
            ctx.request_id,
            member_id=member.member_id,
            session_token="",
            session_jwt="",
            member_session=None,
            member=await members_service.member_view(ctx, member, organization),
            organization=organization_json(organization),
            member_authenticated=False,
            intermediate_session_token=ist,
            intermediate_session_token_expires_at=ist_row.expires_at.isoformat().replace("+00:00", "Z"),
            primary_required=needed,
            mfa_required=None,
        )
    member = await members_service.activate(ctx, member)
    last = factors[-1]
    row, token = await service.start(
        ctx,
        "b2b",
        factor={**last, "last_authenticated_at": last.get("last_authenticated_at")},
        minutes=body.session_duration_minutes or service.DEFAULT_B2B_MINUTES,
        member_id=member.member_id,
        organization_id=organization.organization_id,
        custom_claims=body.session_custom_claims,
    )
    roles = role_ids(member, organization)
    return ok(
        ctx.request_id,
        member_id=member.member_id,
        session_token=token,
        session_jwt=await service.member_jwt(ctx, row, roles, organization.slug),
        member_session=service.member_session_json(row, roles, organization.slug),
        member=await members_service.member_view(ctx, member, organization),
        organization=organization_json(organization),
        member_authenticated=True,
        intermediate_session_token="",
        primary_required=None,
        mfa_required=None,
    )
