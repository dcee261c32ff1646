"""The consumer product's view of the project's RBAC policy (PY `consumer/models/rbac.py`).

One declaration serves both products. Consumer RBAC has no Stytch resources and one
predefined role, `stytch_user`, which every User holds (stytch.com/docs/api/rbac-role-object);
Users are granted the project's own roles explicitly. So the consumer policy is the project's
own resources and scopes, `stytch_user` (with what the project declares for it), and the
project's own roles, each without permissions on the B2B-only `stytch.*` resources.

Pure: no database.
"""

from __future__ import annotations

from keystile.core.policy import RESERVED_ROLES, STYTCH_RESOURCE_IDS, STYTCH_USER, Permission, Policy, Role

STYTCH_USER_ROLE = Role(
    role_id=STYTCH_USER,
    description="Granted to every User.",
    permissions=[],
)


def _consumer_permissions(permissions: list[Permission]) -> list[Permission]:
    return [p for p in permissions if p.resource_id not in STYTCH_RESOURCE_IDS]


def consumer_policy(declared: Policy) -> Policy:
    """What consumer `rbac.policy` returns: `stytch_user` first, then the project's roles;
    the project's resources and scopes."""
    own_user_role = declared.role(STYTCH_USER)
    user_role = STYTCH_USER_ROLE
    if own_user_role is not None:
        user_role = Role(
            role_id=STYTCH_USER,
            description=own_user_role.description or STYTCH_USER_ROLE.description,
            permissions=_consumer_permissions(own_user_role.permissions),
        )
    roles = [user_role]
    roles += [
        Role(role_id=r.role_id, description=r.description, permissions=_consumer_permissions(r.permissions))
        for r in declared.roles
        if r.role_id not in RESERVED_ROLES
    ]
    return Policy.model_construct(
        roles=roles,
        resources=list(declared.resources),
        scopes=[s.model_copy(update={"permissions": _consumer_permissions(s.permissions)}) for s in declared.scopes],
    )
