"""The impersonation area: B2B and consumer `impersonation.authenticate`, and the tokens
`keystile impersonate` mints for them (cli/impersonate.py)."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.impersonation import errors, factors, routes, service

area = Area(
    name="impersonation",
    routers=[routes.router],
    errors=[errors.UnableToAuthImpersonationToken, errors.ImpersonationTokenNotFound],
    token_kinds=[service.MEMBER_TOKEN_KIND, service.USER_TOKEN_KIND],
    unknown_token_errors=[errors.ImpersonationTokenNotFound],
    factors=[factors.IMPERSONATED_FACTOR],
)
