"""RBAC for requests: the policy an organization's Members are judged by, role validation,
and the Member a request acts as when it carries `X-Stytch-Member-Session` or
`X-Stytch-Member-SessionJWT` (PY `shared/method_options.py` `Authorization`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core.context import Context
from keystile.members.serializers import role_ids
from keystile.rbac import repository
from keystile.rbac.policy import Policy, granting_roles, parse_org_roles, with_org_roles
from keystile.sessions import service as sessions

SESSION_HEADER = "x-stytch-member-session"
SESSION_JWT_HEADER = "x-stytch-member-sessionjwt"


async def organization_policy(ctx: Context, organization: Row[Any]) -> Policy:
    """The project policy plus the organization's custom roles."""
    project = await repository.project_policy(ctx.conn, ctx.project_id)
    return with_org_roles(project, parse_org_roles((organization.settings or {}).get("custom_roles")))


async def check_role_ids(ctx: Context, organization: Row[Any], roles: list[str] | None) -> None:
    """Every role to assign exists in the project's policy or the organization's custom roles."""
    if not roles:
        return
    known = {r.role_id for r in (await organization_policy(ctx, organization)).roles}
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise errors.InvalidRBACRoleID(
            f"Unknown role_id {unknown[0]!r}: declare it in the project's RBAC policy (`keystile rbac`) "
            f"or as a custom role of the organization."
        )


async def check_implicit_assignments(
    ctx: Context, assignments: list[dict[str, Any]] | None, custom_roles: Any = None
) -> None:
    """`rbac_email_implicit_role_assignments` name roles that exist (project or custom)."""
    if not assignments:
        return
    project = await repository.project_policy(ctx.conn, ctx.project_id)
    known = {r.role_id for r in with_org_roles(project, parse_org_roles(custom_roles)).roles}
    for assignment in assignments:
        if not assignment.get("domain") or not assignment.get("role_id"):
            raise errors.InvalidRBACRoleAssignment()
        if assignment["role_id"] not in known:
            raise errors.InvalidRBACRoleID(
                f"rbac_email_implicit_role_assignments names role_id {assignment['role_id']!r}, which is not a "
                f"role of the project's RBAC policy or a custom role of the organization."
            )


@dataclass(frozen=True)
class Actor:
    """The Member a request runs as, with the roles its session carries."""

    member: Row[Any]
    organization: Row[Any]
    roles: list[str]
    policy: Policy

    @property
    def member_id(self) -> str:
        return self.member.member_id

    @property
    def organization_id(self) -> str:
        return self.organization.organization_id

    def may(self, resource_id: str, action: str) -> bool:
        return bool(granting_roles(self.policy, self.roles, resource_id, action))


async def acting_member(ctx: Context) -> Actor | None:
    """The Member named by the request's session header, or None without one. A header
    naming no live session of this project (or the session of a deleted Member) is
    `session_not_found`; when both headers are sent the session token is used."""
    token = ctx.headers.get(SESSION_HEADER)
    session_jwt = ctx.headers.get(SESSION_JWT_HEADER)
    if not token and not session_jwt:
        return None
    found = await sessions.member_session(ctx, token=token, session_jwt=session_jwt)
    if found is None:
        raise errors.SessionNotFound("The session in the X-Stytch-Member-Session header could not be found.")
    return Actor(
        found.member,
        found.organization,
        role_ids(found.member, found.organization),
        await organization_policy(ctx, found.organization),
    )


def require(actor: Actor, organization_id: str, needs: list[tuple[str, str]]) -> None:
    """The actor belongs to the organization and holds every (resource, action)."""
    if actor.organization_id != organization_id:
        raise errors.SessionAuthorizationTenancyError(
            "The Member Session in the request headers belongs to another organization."
        )
    for resource_id, action in needs:
        if not actor.may(resource_id, action):
            raise errors.UnauthorizedAction(
                f"The Member Session in the request headers does not have permission to perform the "
                f"{action} action on the {resource_id} Resource."
            )
