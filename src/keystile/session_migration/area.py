"""The session migration area: B2B and consumer `sessions.migrate`, which turn a session of
another OIDC provider into a keystile session (session_migration/service.py)."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.session_migration import errors, factors, routes

area = Area(
    name="session_migration",
    routers=[routes.router],
    errors=[errors.SessionMigrationNotConfigured, errors.SessionMigrationUserinfoFailed],
    factors=[factors.IMPORTED],
)
