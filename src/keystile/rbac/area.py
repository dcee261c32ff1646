"""The RBAC area: the project's policy (B2B and consumer), organizations' custom roles, and
the permission checks a Member session header brings to other areas' endpoints (rbac/guards.py)."""

from __future__ import annotations

from keystile import errors
from keystile.core.area import Area, RBACResource
from keystile.rbac import routes, routes_consumer
from keystile.rbac.policy import STYTCH_RESOURCES

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
)
