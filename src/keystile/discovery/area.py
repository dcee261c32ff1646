"""The discovery area: intermediate sessions and the organizations a proven email may enter."""

from __future__ import annotations

from keystile import errors
from keystile.core.area import Area
from keystile.discovery import routes

area = Area(
    name="discovery",
    routers=[routes.router],
    errors=[
        errors.TooManyDiscoveryArguments,
        errors.NoDiscoveryArguments,
        errors.InvalidIntermediateSessionForOrganization,
        errors.EmailJITProvisioningNotAllowed,
        errors.OAuthTenantJITProvisioningNotAllowed,
    ],
)
