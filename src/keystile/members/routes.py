"""B2B Members: create, get, update, delete, search, reactivate, external ids, retired emails and
the self-serve email update (stytch.com/docs/b2b/api/member-object).

The organization in the path may be its id, slug or external id; a member may be named by
its external id (except in `reactivate`, which Stytch documents as `member_id` only). Deleted
Members are not found here (only search with `statuses`, `dangerously_get` with
`include_deleted` and `reactivate` see them).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from keystile import errors
from keystile.core.authz import acting_member, check_role_ids, require
from keystile.core.context import Context, Ctx
from keystile.core.db import Record
from keystile.core.policy import WILDCARD
from keystile.core.responses import JSON, ok
from keystile.members import guards, service
from keystile.members.schemas import (
    CreateRequest,
    SearchRequest,
    StartEmailUpdateRequest,
    UnlinkRetiredEmailRequest,
    UpdateRequest,
)
from keystile.members.serializers import member_json
from keystile.organizations import service as orgs_service
from keystile.organizations.serializers import organization_json
from keystile.organizations.service import validate_external_id

router = APIRouter()


async def _member_response(ctx: Context, member: Record, organization: Record, **extra: Any) -> JSON:
    retired = await service.retired_emails(ctx, [member.member_id])
    return ok(
        ctx.request_id,
        member_id=member.member_id,
        member=member_json(member, organization, retired[member.member_id]),
        organization=organization_json(organization),
        **extra,
    )


async def _as_member(
    ctx: Context, organization: Record, member: Record | None, member_action: str, *, self_ok: bool = False
) -> None:
    """The session-header check (members/guards.py) for the endpoints added here: the acting Member
    must belong to the organization and hold `member_action` on stytch.member, unless `self_ok`
    and it acts on itself."""
    actor = await acting_member(ctx)
    if actor is None:
        return
    if self_ok and member is not None and actor.member_id == member.member_id:
        require(actor, organization.organization_id, [])
    else:
        require(actor, organization.organization_id, [(guards.MEMBER, member_action)])


@router.post("/v1/b2b/organizations/members/search")
async def search_members(body: SearchRequest, ctx: Ctx) -> JSON:
    await guards.member_search(ctx, body.organization_ids)
    rows, total, next_cursor, orgs = await service.search_members(
        ctx, organization_ids=body.organization_ids, cursor=body.cursor, limit=body.limit, query=body.query
    )
    retired = await service.retired_emails(ctx, [row.member_id for row in rows])
    return ok(
        ctx.request_id,
        members=[member_json(row, orgs.get(row.organization_id), retired[row.member_id]) for row in rows],
        results_metadata={"total": total, "next_cursor": next_cursor},
        organizations={org_id: organization_json(org) for org_id, org in orgs.items()},
    )


@router.post("/v1/b2b/organizations/{organization_id}/members")
async def create_member(organization_id: str, body: CreateRequest, ctx: Ctx) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    await guards.member_create(ctx, organization, body)
    await check_role_ids(ctx, organization, body.roles)
    if body.external_id is not None:
        validate_external_id(body.external_id, "external_id")
    member = await service.create_member(
        ctx,
        organization,
        email=body.email_address,
        status="pending" if body.create_member_as_pending else "active",
        name=body.name,
        roles=service.direct_roles(body.roles or []),
        external_id=body.external_id,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        is_breakglass=bool(body.is_breakglass),
        mfa_enrolled=bool(body.mfa_enrolled),
        mfa_phone_number=body.mfa_phone_number,
    )
    return await _member_response(ctx, member, organization)


@router.get("/v1/b2b/organizations/{organization_id}/member")
async def get_member(
    organization_id: str, ctx: Ctx, member_id: str | None = None, email_address: str | None = None
) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    if member_id and email_address:
        raise errors.BadRequest("Pass either member_id or email_address, not both.")
    if member_id:
        member = await service.get_existing(ctx, organization.organization_id, member_id)
    elif email_address:
        member = await service.get_existing_by_email(ctx, organization.organization_id, email_address)
    else:
        raise errors.BadRequest("Either member_id or email_address is required.")
    return await _member_response(ctx, member, organization)


@router.put("/v1/b2b/organizations/{organization_id}/members/{member_id}")
async def update_member(organization_id: str, member_id: str, body: UpdateRequest, ctx: Ctx) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    member = await service.get_existing(ctx, organization.organization_id, member_id)
    await guards.member_update(ctx, organization, member, body)
    await check_role_ids(ctx, organization, body.roles)
    member = await service.update_member(
        ctx,
        member,
        name=body.name,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        is_breakglass=body.is_breakglass,
        roles=body.roles,
        external_id=body.external_id,
        email_address=body.email_address,
        unlink_email=body.unlink_email,
        mfa_enrolled=body.mfa_enrolled,
        default_mfa_method=body.default_mfa_method,
        mfa_phone_number=body.mfa_phone_number,
    )
    return await _member_response(ctx, member, organization)


@router.delete("/v1/b2b/organizations/{organization_id}/members/{member_id}")
async def delete_member(organization_id: str, member_id: str, ctx: Ctx) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    member = await service.get_existing(ctx, organization.organization_id, member_id)
    await guards.member_delete(ctx, organization, member)
    await service.delete_member(ctx, member)
    return ok(ctx.request_id, member_id=member.member_id)


@router.get("/v1/b2b/organizations/members/dangerously_get/{member_id}")
async def dangerously_get_member(member_id: str, ctx: Ctx, include_deleted: bool = False) -> JSON:
    """A Member by `member_id` in any organization of the project (PY `members.dangerously_get`)."""
    member = await service.find_by_id(ctx, member_id)
    if member is None or (member.status == "deleted" and not include_deleted):
        raise errors.MemberNotFound()
    organization = await orgs_service.get(ctx, member.organization_id)
    return await _member_response(ctx, member, organization)


@router.put("/v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate")
async def reactivate_member(organization_id: str, member_id: str, ctx: Ctx) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    await _as_member(ctx, organization, None, "create")
    member = await service.reactivate(ctx, organization, member_id)
    return await _member_response(ctx, member, organization)


@router.delete("/v1/b2b/organizations/{organization_id}/members/{member_id}/external_id")
async def delete_member_external_id(organization_id: str, member_id: str, ctx: Ctx) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    member = await service.get_existing(ctx, organization.organization_id, member_id)
    await _as_member(ctx, organization, member, WILDCARD)
    member = await service.delete_external_id(ctx, member)
    return await _member_response(ctx, member, organization)


@router.post("/v1/b2b/organizations/{organization_id}/members/{member_id}/unlink_retired_email")
async def unlink_retired_email(organization_id: str, member_id: str, body: UnlinkRetiredEmailRequest, ctx: Ctx) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    member = await service.get_existing(ctx, organization.organization_id, member_id)
    await _as_member(ctx, organization, member, "update.info.email")
    await service.unlink_retired_email(ctx, member, email_id=body.email_id, email_address=body.email_address)
    return await _member_response(ctx, member, organization, organization_id=organization.organization_id)


@router.post("/v1/b2b/organizations/{organization_id}/members/{member_id}/start_email_update")
async def start_email_update(organization_id: str, member_id: str, body: StartEmailUpdateRequest, ctx: Ctx) -> JSON:
    """Self-serve: a Member acting on itself needs no permission (the new inbox must confirm);
    on another Member it needs `update.info.email`."""
    organization = await orgs_service.get(ctx, organization_id)
    member = await service.get_existing(ctx, organization.organization_id, member_id)
    await _as_member(ctx, organization, member, "update.info.email", self_ok=True)
    await service.start_email_update(
        ctx,
        organization,
        member,
        body.email_address,
        login_redirect_url=body.login_redirect_url,
        delivery_method=body.delivery_method,
    )
    return await _member_response(ctx, member, organization)
