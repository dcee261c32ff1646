"""The RBAC area: the project's policy (B2B and consumer), organizations' custom roles, and
the Member a session header names (`acting_member`, which core/authz.py asks for every
area's endpoints; the checks themselves are each area's guards.py)."""

from __future__ import annotations

from keystile import errors
from keystile.core.area import Area, RBACResource
from keystile.core.policy import STYTCH_RESOURCES
from keystile.rbac import routes, routes_consumer, service

area = Area(
    name="rbac",
    routers=[routes.router, routes_consumer.router],
    errors=[
        errors.UnauthorizedAction,
        errors.CannotUpdateTrustedMetadata,
        errors.InvalidRBACRoleID,
        errors.InvalidRBACRoleAssignment,
        errors.InvalidRBACCustomRole,
        errors.InvalidRBACStytchRoleEdit,
        errors.InvalidStytchPrefixedResource,
        errors.InvalidPermissionResource,
        errors.InvalidPermissionAction,
        errors.RBACRoleDuplicate,
        errors.RBACResourceDuplicate,
        errors.RBACScopeDuplicate,
        errors.RBACActionDuplicate,
        errors.RBACResourceMissingActions,
        errors.EmptyRBACRoleID,
        errors.EmptyRBACResourceID,
        errors.EmptyRBACScope,
    ],
    rbac_resources=[RBACResource(r.resource_id, r.description, tuple(r.actions)) for r in STYTCH_RESOURCES],
    acting_member=service.member_actor,
)
