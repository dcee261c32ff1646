"""The RBAC policy: resources with actions, roles with permissions, scopes (PY `b2b/models/rbac.py`).

A project declares its own resources, roles and scopes (in `keystile.toml` or with `keystile
rbac …`). The policy keystile evaluates and returns from `rbac.policy` is that declaration on
top of Stytch's defaults: the `stytch.*` resources and the `stytch_member` / `stytch_admin`
roles (stytch.com/docs/b2b/guides/rbac/stytch-default). Evaluation follows the SDK's local
check exactly (PY `shared/rbac_local.py` `is_authorized`): a role grants an action on a
resource when one of its permissions names that resource and lists the action or `*`.

Pure: no database, no keystile imports beyond errors (config.py imports this module).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from keystile import errors

STYTCH_MEMBER = "stytch_member"
STYTCH_ADMIN = "stytch_admin"
DEFAULT_ROLES = (STYTCH_MEMBER, STYTCH_ADMIN)
# The consumer product's one predefined role, held by every User (rbac/consumer.py). A project
# may declare it to add permissions; the B2B policy leaves it out.
STYTCH_USER = "stytch_user"
RESERVED_ROLES = (*DEFAULT_ROLES, STYTCH_USER)
WILDCARD = "*"


class Permission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_id: str
    actions: list[str]


class Resource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_id: str
    description: str = ""
    actions: list[str]


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role_id: str
    description: str = ""
    permissions: list[Permission] = Field(default_factory=list)


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str
    description: str = ""
    permissions: list[Permission] = Field(default_factory=list)


class Policy(BaseModel):
    """A policy document in Stytch's shape. As declared by a project it holds only the
    project's own resources and scopes and its roles (`stytch_member` / `stytch_admin` may
    appear to add permissions to the defaults); `effective()` adds Stytch's defaults."""

    model_config = ConfigDict(extra="forbid")

    resources: list[Resource] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    scopes: list[Scope] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid(self) -> Policy:
        try:
            validate_declared(self)
        except errors.StytchError as exc:
            raise ValueError(f"{exc.error_type}: {exc.message}") from None
        return self

    def role(self, role_id: str) -> Role | None:
        return next((r for r in self.roles if r.role_id == role_id), None)

    def wire(self) -> dict[str, Any]:
        """The JSON `rbac.policy` returns (every field of PY `Policy` present)."""
        return {
            "roles": [role.model_dump() for role in self.roles],
            "resources": [resource.model_dump() for resource in self.resources],
            "scopes": [scope.model_dump() for scope in self.scopes],
        }


# Stytch's default resources and the actions keystile enforces or accepts for them. The
# action names are the ones the SDK docstrings cite (PY `organizations.update`,
# `organizations.members.update`) plus `create`, `search`, `delete` and `revoke-sessions`.
STYTCH_RESOURCES: tuple[Resource, ...] = (
    Resource(
        resource_id="stytch.organization",
        description="Stytch's Organization object: its info, its settings, its deletion.",
        actions=[
            "update.info.name",
            "update.info.slug",
            "update.info.logo-url",
            "update.settings.allowed-auth-methods",
            "update.settings.allowed-domains",
            "update.settings.allowed-mfa-methods",
            "update.settings.allowed-oauth-tenants",
            "update.settings.default-sso-connection",
            "update.settings.email-invites",
            "update.settings.email-jit-provisioning",
            "update.settings.implicit-roles",
            "update.settings.mfa-policy",
            "update.settings.oauth-tenant-jit-provisioning",
            "update.settings.sso-jit-provisioning",
            "delete",
        ],
    ),
    Resource(
        resource_id="stytch.member",
        description="Every Member of the Organization: creating and inviting, updating, searching, deleting.",
        actions=[
            "create",
            "update.info.name",
            "update.info.untrusted-metadata",
            "update.info.email",
            "update.info.mfa-phone",
            "update.info.delete.mfa-phone",
            "update.info.delete.password",
            "update.settings.is-breakglass",
            "update.settings.mfa-enrolled",
            "update.settings.default-mfa-method",
            "update.settings.roles",
            "search",
            "delete",
            "revoke-sessions",
        ],
    ),
    Resource(
        resource_id="stytch.sso",
        description="The Organization's SSO connections.",
        actions=["create", "update", "delete"],
    ),
    Resource(
        resource_id="stytch.scim",
        description="The Organization's SCIM connection.",
        actions=["create", "update", "delete", "get", "rotate"],
    ),
    Resource(
        resource_id="stytch.self",
        description="The logged-in Member's own Member object and sessions.",
        actions=[
            "update.info.name",
            "update.info.untrusted-metadata",
            "update.info.mfa-phone",
            "update.info.delete.mfa-phone",
            "update.info.delete.password",
            "update.settings.mfa-enrolled",
            "update.settings.default-mfa-method",
            "delete",
            "revoke-sessions",
        ],
    ),
)
STYTCH_RESOURCE_IDS = frozenset(r.resource_id for r in STYTCH_RESOURCES)

DEFAULT_ROLE_DEFINITIONS: tuple[Role, ...] = (
    Role(
        role_id=STYTCH_ADMIN,
        description="Granted to the Member who creates an Organization through discovery; manages the "
        "Organization, its Members and its SSO and SCIM connections.",
        permissions=[
            Permission(resource_id="stytch.organization", actions=[WILDCARD]),
            Permission(resource_id="stytch.member", actions=[WILDCARD]),
            Permission(resource_id="stytch.sso", actions=[WILDCARD]),
            Permission(resource_id="stytch.scim", actions=[WILDCARD]),
        ],
    ),
    Role(
        role_id=STYTCH_MEMBER,
        description="Granted to every Member; manages the Member's own name, metadata and sessions.",
        permissions=[Permission(resource_id="stytch.self", actions=[WILDCARD])],
    ),
)


def _check_actions(resources: dict[str, Resource], permissions: list[Permission], owner: str) -> None:
    for permission in permissions:
        resource = resources.get(permission.resource_id)
        if resource is None:
            raise errors.InvalidPermissionResource(
                f"{owner} names resource {permission.resource_id!r}, which the policy does not declare."
            )
        if not permission.actions:
            raise errors.InvalidPermissionAction(f"{owner} lists no actions for {permission.resource_id!r}.")
        unknown = [a for a in permission.actions if a != WILDCARD and a not in resource.actions]
        if unknown:
            raise errors.InvalidPermissionAction(
                f"{owner} names actions {unknown} that resource {permission.resource_id!r} does not declare "
                f"(it declares {resource.actions}, and * means all of them)."
            )


def all_resources(declared: Policy) -> dict[str, Resource]:
    return {r.resource_id: r for r in (*STYTCH_RESOURCES, *declared.resources)}


def validate_declared(policy: Policy) -> None:
    """Ids present and unique, no `stytch` prefix on custom resources, every permission naming
    a declared resource and its actions. Raises the Stytch error for the first problem."""
    seen: set[str] = set()
    for resource in policy.resources:
        rid = resource.resource_id.strip()
        if not rid:
            raise errors.EmptyRBACResourceID()
        if rid.startswith("stytch"):
            raise errors.InvalidStytchPrefixedResource(
                f"resource_id {rid!r} starts with stytch, a prefix reserved for Stytch's default resources."
            )
        if rid in seen:
            raise errors.RBACResourceDuplicate(f"resource_id {rid!r} is declared twice.")
        seen.add(rid)
        if not resource.actions:
            raise errors.RBACResourceMissingActions(f"Resource {rid!r} declares no actions.")
        if len(set(resource.actions)) != len(resource.actions):
            raise errors.RBACActionDuplicate(f"Resource {rid!r} declares an action twice.")
        if WILDCARD in resource.actions or any(not a.strip() for a in resource.actions):
            raise errors.InvalidPermissionAction(
                f"Resource {rid!r}: actions must be non-empty names; * is implied, not declared."
            )
    resources = all_resources(policy)
    roles: set[str] = set()
    for role in policy.roles:
        if not role.role_id.strip():
            raise errors.EmptyRBACRoleID()
        if role.role_id in roles:
            raise errors.RBACRoleDuplicate(f"role_id {role.role_id!r} is declared twice.")
        if role.role_id.startswith("stytch_") and role.role_id not in RESERVED_ROLES:
            raise errors.InvalidRBACStytchRoleEdit(
                f"role_id {role.role_id!r}: the stytch_ prefix is reserved for stytch_member, stytch_admin "
                "and stytch_user."
            )
        roles.add(role.role_id)
        _check_actions(resources, role.permissions, f"Role {role.role_id!r}")
    scopes: set[str] = set()
    for scope in policy.scopes:
        if not scope.scope.strip():
            raise errors.EmptyRBACScope()
        if scope.scope in scopes:
            raise errors.RBACScopeDuplicate(f"Scope {scope.scope!r} is declared twice.")
        scopes.add(scope.scope)
        _check_actions(resources, scope.permissions, f"Scope {scope.scope!r}")


def _merged_role(default: Role, declared: Role | None) -> Role:
    """A default role with a project's declared permissions added (never taken away)."""
    if declared is None:
        return default
    actions: dict[str, list[str]] = {p.resource_id: list(p.actions) for p in default.permissions}
    for permission in declared.permissions:
        current = actions.setdefault(permission.resource_id, [])
        current.extend(a for a in permission.actions if a not in current)
    return Role(
        role_id=default.role_id,
        description=declared.description or default.description,
        permissions=[Permission(resource_id=rid, actions=acts) for rid, acts in actions.items()],
    )


def effective(declared: Policy) -> Policy:
    """What `rbac.policy` returns: Stytch's default roles (plus declared additions) first, then
    the project's roles; Stytch's resources, then the project's; the project's scopes."""
    roles = [_merged_role(default, declared.role(default.role_id)) for default in DEFAULT_ROLE_DEFINITIONS]
    roles += [r for r in declared.roles if r.role_id not in RESERVED_ROLES]
    return Policy.model_construct(
        roles=roles,
        resources=[*STYTCH_RESOURCES, *declared.resources],
        scopes=list(declared.scopes),
    )


def with_org_roles(policy: Policy, org_roles: list[Role]) -> Policy:
    """The project policy with an organization's custom roles added (PY `policy_cache._merge_policies`)."""
    if not org_roles:
        return policy
    return Policy.model_construct(
        roles=[*policy.roles, *org_roles],
        resources=policy.resources,
        scopes=policy.scopes,
    )


def granting_roles(policy: Policy, subject_roles: list[str], resource_id: str, action: str) -> list[str]:
    """The subject's roles that grant `action` on `resource_id`; empty means refused."""
    held = set(subject_roles)
    granting: list[str] = []
    for role in policy.roles:
        if role.role_id not in held or role.role_id in granting:
            continue
        for permission in role.permissions:
            if permission.resource_id == resource_id and (
                WILDCARD in permission.actions or action in permission.actions
            ):
                granting.append(role.role_id)
                break
    return granting


def parse_org_roles(raw: Any) -> list[Role]:
    """An organization's stored `custom_roles` as Role objects (bad entries are skipped)."""
    roles: list[Role] = []
    for item in raw or []:
        try:
            roles.append(Role.model_validate(item))
        except ValueError:
            continue
    return roles


def validate_org_roles(project: Policy, org_roles: list[Role]) -> None:
    """An organization's custom roles: ids present, unique, not a project role or a stytch_ role,
    permissions naming the project's resources and actions."""
    project_roles = {r.role_id for r in project.roles}
    resources = {r.resource_id: r for r in project.resources}
    seen: set[str] = set()
    for role in org_roles:
        if not role.role_id.strip():
            raise errors.EmptyRBACRoleID()
        if role.role_id.startswith("stytch_"):
            raise errors.InvalidRBACStytchRoleEdit()
        if role.role_id in project_roles or role.role_id in seen:
            raise errors.RBACRoleDuplicate(
                f"role_id {role.role_id!r} is already a role of the project's policy or declared twice."
            )
        seen.add(role.role_id)
        if not role.permissions:
            raise errors.InvalidRBACCustomRole(f"Custom role {role.role_id!r} has no permissions.")
        _check_actions(resources, role.permissions, f"Custom role {role.role_id!r}")
