"""Acting as a Member: what every area's endpoints check when a request carries
`X-Stytch-Member-Session` / `X-Stytch-Member-SessionJWT` (PY `shared/method_options.py`
`Authorization`), and the role checks made against the project's policy.

The Member a header names is found by the area that declares `Area.acting_member` (rbac:
it reads the session through the sessions area); an area's endpoint asks for it with
`acting_member(ctx)` and checks what it needs with `require`, so no area imports another
to authorize a request. The actions each endpoint needs live with the endpoint's area
(`organizations/guards.py`, `members/guards.py`, `sessions/guards.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from keystile import errors
from keystile.core import policy_store
from keystile.core.db import Record
from keystile.core.policy import Policy, granting_roles, parse_org_roles, with_org_roles

if TYPE_CHECKING:
    from keystile.core.context import Context

SESSION_HEADER = "x-stytch-member-session"
SESSION_JWT_HEADER = "x-stytch-member-sessionjwt"

# Stytch's built-in resources, as endpoints name them in their checks.
ORGANIZATION = "stytch.organization"
MEMBER = "stytch.member"
SELF = "stytch.self"


# Fields that only steer the request, never a permission.
IGNORED_FIELDS = frozenset({"organization_id", "member_id", "preserve_existing_sessions", "unlink_email"})


def given(body: BaseModel) -> set[str]:
    """The fields a request sets to a value."""
    return {name for name in body.model_fields_set if getattr(body, name) is not None} - IGNORED_FIELDS


def no_trusted_metadata(fields: set[str]) -> None:
    if "trusted_metadata" in fields:
        raise errors.CannotUpdateTrustedMetadata()


@dataclass(frozen=True)
class Actor:
    """The Member a request runs as, with the roles its session carries."""

    member: Record
    organization: Record
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


def session_headers(ctx: Context) -> tuple[str | None, str | None]:
    """(session token, session JWT) of the request's Member session headers."""
    return ctx.headers.get(SESSION_HEADER), ctx.headers.get(SESSION_JWT_HEADER)


async def acting_member(ctx: Context) -> Actor | None:
    """The Member named by the request's session header, or None without one. A header
    naming no live session of this project is `session_not_found`."""
    token, session_jwt = session_headers(ctx)
    if not token and not session_jwt:
        return None
    resolve = ctx.state.registry.acting_member
    if resolve is None:  # no area reads Member sessions: refuse rather than ignore the header
        raise errors.SessionNotFound("The session in the X-Stytch-Member-Session header could not be found.")
    return await resolve(ctx)


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


def self_or_member(actor: Actor, member_id: str, member_action: str, self_action: str | None) -> list[tuple[str, str]]:
    """Acting on oneself, the stytch.self action suffices where Stytch allows it."""
    if self_action is not None and actor.member_id == member_id and actor.may(SELF, self_action):
        return []
    return [(MEMBER, member_action)]


async def organization_policy(ctx: Context, organization: Record) -> Policy:
    """The project policy plus the organization's custom roles."""
    project = await policy_store.project_policy(ctx.conn, ctx.project_id)
    return with_org_roles(project, parse_org_roles((organization.settings or {}).get("custom_roles")))


async def check_role_ids(ctx: Context, organization: Record, roles: list[str] | None) -> None:
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
    project = await policy_store.project_policy(ctx.conn, ctx.project_id)
    known = {r.role_id for r in with_org_roles(project, parse_org_roles(custom_roles)).roles}
    for assignment in assignments:
        if not assignment.get("domain") or not assignment.get("role_id"):
            raise errors.InvalidRBACRoleAssignment()
        if assignment["role_id"] not in known:
            raise errors.InvalidRBACRoleID(
                f"rbac_email_implicit_role_assignments names role_id {assignment['role_id']!r}, which is not a "
                f"role of the project's RBAC policy or a custom role of the organization."
            )
