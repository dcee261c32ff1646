"""RBAC: the project's policy and organizations' custom roles (PY `b2b/api/rbac.py`,
`b2b/api/rbac_organizations.py`). The SDKs read both to authorize session JWTs locally
(PY `shared/policy_cache.py` merges the organization's roles into the project's policy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, ValidationError

from keystile import errors
from keystile.core import policy_store
from keystile.core.context import Ctx
from keystile.core.db import Record
from keystile.core.policy import Role, parse_org_roles, validate_org_roles
from keystile.core.responses import JSON, ok
from keystile.core.schemas import RequestModel
from keystile.organizations import service as orgs_service

router = APIRouter()


class OrgPolicyBody(RequestModel):
    roles: list[dict[str, Any]] = Field(default_factory=list)


class SetOrgPolicyRequest(RequestModel):
    org_policy: OrgPolicyBody


@router.get("/v1/b2b/rbac/policy")
async def get_policy(ctx: Ctx) -> JSON:
    policy = await policy_store.project_policy(ctx.conn, ctx.project_id)
    return ok(ctx.request_id, policy=policy.wire())


def _org_policy(organization: Record) -> dict[str, Any]:
    roles = parse_org_roles((organization.settings or {}).get("custom_roles"))
    return {"roles": [role.model_dump() for role in roles]}


@router.get("/v1/b2b/rbac/organizations/{organization_id}")
async def get_org_policy(organization_id: str, ctx: Ctx) -> JSON:
    organization = await orgs_service.get(ctx, organization_id)
    return ok(ctx.request_id, org_policy=_org_policy(organization))


@router.put("/v1/b2b/rbac/organizations/{organization_id}")
async def set_org_policy(organization_id: str, body: SetOrgPolicyRequest, ctx: Ctx) -> JSON:
    """Replace the organization's custom roles; they show as the Organization's `custom_roles`."""
    organization = await orgs_service.get(ctx, organization_id)
    roles: list[Role] = []
    for raw in body.org_policy.roles:
        try:
            roles.append(Role.model_validate(raw))
        except ValidationError as exc:
            raise errors.InvalidRBACCustomRole(
                f"Each custom role needs a role_id, a description and permissions of resource_id and actions "
                f"({exc.errors()[0]['msg']})."
            ) from None
    project = await policy_store.project_policy(ctx.conn, ctx.project_id)
    validate_org_roles(project, roles)
    updated = await orgs_service.update_organization(
        ctx,
        organization,
        settings={"custom_roles": [role.model_dump() for role in roles]},
    )
    return ok(ctx.request_id, org_policy=_org_policy(updated))
