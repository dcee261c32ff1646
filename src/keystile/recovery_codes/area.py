"""The recovery codes area: B2B recovery codes, the backup of a Member's TOTP."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.recovery_codes import errors, factors, routes, service

area = Area(
    name="recovery_codes",
    routers=[routes.router],
    errors=[errors.RecoveryCodesNotFound, errors.UnableToAuthenticateRecoveryCode],
    rate_limits=[service.FAILURES],
    factors=[factors.RECOVERY_CODE],
)
