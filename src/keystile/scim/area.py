"""The scim area: SCIM connections (stytch.com/docs/b2b/api/scim-connection-object) and the
SCIM 2.0 service each connection serves to its organization's directory."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.scim import errors, protocol, routes

area = Area(
    name="scim",
    routers=[routes.router, protocol.router],
    errors=[
        errors.ScimConnectionNotFound,
        errors.ScimConnectionAlreadyExists,
        errors.ScimTokenRotationNotStarted,
        errors.InvalidScimIdentityProvider,
        errors.ScimGroupNotFound,
    ],
    id_prefixes=["scim-connection", "scim-group", "scim-registration"],
    error_bodies={protocol.PREFIX: protocol.error_body},
)
