"""B2B session flows beyond authenticate: authorization checks, revocation by member, and
switching organizations (stytch.com/docs/b2b/api/sessions)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core.authz import organization_policy
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.core.policy import granting_roles
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.organizations import repository as orgs_repo
from keystile.organizations.repository import settings_of
from keystile.organizations.serializers import organization_json
from keystile.sessions import intermediate, logins, service


async def authorize(
    ctx: Context, organization: Record, roles: list[str], *, organization_id: str, resource_id: str, action: str
) -> dict[str, Any]:
    """`authorization_check`: the same rule as the SDKs' local check (PY `shared/rbac_local.py`),
    on the same policy. Returns the verdict, or raises the 403 Stytch names."""
    target = await orgs_repo.find(ctx.conn, ctx.project_id, organization_id)
    if target is None or target.organization_id != organization.organization_id:
        raise errors.SessionAuthorizationTenancyError()
    policy = await organization_policy(ctx, organization)
    granting = granting_roles(policy, roles, resource_id, action)
    if not granting:
        raise errors.SessionAuthorizationError(
            f"The Member is not authorized to perform the {action} action on the {resource_id} Resource."
        )
    return {"authorized": True, "granting_roles": granting}


async def revoke(
    ctx: Context,
    *,
    member_session_id: str | None,
    session_token: str | None,
    session_jwt: str | None,
    member_id: str | None,
) -> None:
    """One session by id, token or JWT; or, with `member_id` alone, every session of the member."""
    if member_id and not any((member_session_id, session_token, session_jwt)):
        if await members_repo.find_by_id(ctx.conn, ctx.project_id, member_id) is None:
            raise errors.MemberNotFound()
        await service.revoke_for(ctx, member_id=member_id)
        return
    if member_id:
        raise errors.TooManySessionRevokeArguments(
            "Pass one of member_session_id, session_token, session_jwt or member_id."
        )
    await service.revoke(ctx, "b2b", session_id=member_session_id, token=session_token, session_jwt=session_jwt)


def primary_required(organization: Row[Any], factors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What an organization with restricted auth methods still needs from this session."""
    settings = settings_of(organization)
    if settings["auth_methods"] != "RESTRICTED":
        return None
    allowed = set(settings["allowed_auth_methods"])
    if {f["type"] for f in factors} & allowed:
        return None
    return {"allowed_auth_methods": sorted(allowed)}


async def exchange(
    ctx: Context,
    organization_ref: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """Switch organizations: a session for the same person's membership in another organization
    (stytch.com/docs/b2b/api/exchange-session). Joining by JIT is not possible here."""
    current, _ = await service.authenticate(ctx, "b2b", token=session_token, session_jwt=session_jwt)
    service.refuse_if_impersonated(current)
    service.check_duration(minutes)
    source = await members_repo.find_by_id(ctx.conn, ctx.project_id, current.member_id or "")
    if source is None or source.status == "deleted":
        raise errors.SessionNotFound()
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, organization.organization_id, source.email)
    if member is None or member.status == "deleted":
        raise errors.InvalidIntermediateSessionForOrganization(
            "This member has no membership in that organization; join by email domain through discovery."
        )
    factors = current.authentication_factors
    needed = None if member.is_breakglass else primary_required(organization, factors)
    if needed is not None:
        ist, ist_row = await intermediate.issue(
            ctx, member.email, factor_type=factors[-1]["type"], organization_id=organization.organization_id
        )
        return {
            "member_id": member.member_id,
            "session_token": "",
            "session_jwt": "",
            "member_session": None,
            "member": await members_service.member_view(ctx, member, organization),
            "organization": organization_json(organization),
            "member_authenticated": False,
            "intermediate_session_token": ist,
            "intermediate_session_token_expires_at": rfc3339(ist_row.expires_at),
            "primary_required": needed,
            "mfa_required": None,
        }
    member = await members_service.activate(ctx, member)
    return await logins.complete_primary(
        ctx, organization, member, factor=factors[-1], minutes=minutes, custom_claims=custom_claims
    )
