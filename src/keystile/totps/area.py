"""The TOTP area: a B2B Member's authenticator app as a second factor."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.totps import codes, errors, factors, routes

area = Area(
    name="totps",
    routers=[routes.router],
    errors=[
        errors.TotpNotFound,
        errors.ActiveTotpExists,
        errors.UnableToAuthenticateTotp,
        errors.TotpCodeAlreadyAuthenticated,
    ],
    id_prefixes=["member-totp"],
    rate_limits=[codes.FAILURES],
    factors=[factors.TOTP],
)
