"""The sessions area: B2B and consumer sessions, intermediate sessions, session JWTs and the
JWKS that verifies them."""

from __future__ import annotations

from keystile import errors
from keystile.core import events
from keystile.core.area import Area
from keystile.core.tokens import TokenKind
from keystile.sessions import routes_b2b, routes_consumer, routes_jwks, sandbox, service

area = Area(
    name="sessions",
    routers=[routes_jwks.router, routes_b2b.router, routes_consumer.router],
    hot_routes=[*routes_b2b.hot_routes, *routes_consumer.hot_routes],
    errors=[
        errors.InvalidSessionDuration,
        errors.CustomClaimsTooLarge,
        errors.ReservedClaims,
        errors.StytchClaims,
        errors.SessionNotFound,
        errors.TooManySessionArguments,
        errors.NoSessionArguments,
        errors.NoSessionRevokeArguments,
        errors.TooManySessionRevokeArguments,
        errors.UnableToParseSessionJWT,
        errors.InvalidSessionJWT,
        errors.SessionNotMutableImpersonated,
        errors.SessionAuthorizationTenancyError,
        errors.SessionAuthorizationError,
        errors.ProjectNotFound,
        errors.IntermediateSessionNotFound,
        errors.OperationRestrictedByOrganizationMfaMethods,
        errors.InsufficientFactors,
    ],
    id_prefixes=["member-session", "session"],
    token_kinds=[TokenKind.INTERMEDIATE_SESSION],
    unknown_token_errors=[errors.IntermediateSessionNotFound],
    listeners={events.MemberDeleted: service.on_member_deleted, events.UserDeleted: service.on_user_deleted},
    sandbox_values=sandbox.VALUES,
)
