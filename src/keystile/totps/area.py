"""The TOTP area: a B2B Member's or a consumer User's authenticator app."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.totps import codes, errors, factors, routes, routes_consumer

area = Area(
    name="totps",
    routers=[routes.router, routes_consumer.router],
    errors=[
        errors.TotpNotFound,
        errors.ActiveTotpExists,
        errors.UnableToAuthenticateTotp,
        errors.TotpCodeAlreadyAuthenticated,
    ],
    id_prefixes=["member-totp", "totp"],
    rate_limits=[codes.FAILURES],
    factors=[factors.TOTP],
)
