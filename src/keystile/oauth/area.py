"""The oauth area: social login with Google, Microsoft, GitHub and the other providers
(oauth/providers.py): projects' clients, the start routes and the shared callback, consumer
oauth.authenticate and oauth.attach, B2B organization and discovery logins
(routes_b2b.py, service_b2b.py), and the provider tokens of users and Members."""

from __future__ import annotations

from keystile.core import events
from keystile.core.area import Area
from keystile.oauth import (
    errors,
    errors_b2b,
    factors,
    routes_b2b,
    routes_callback,
    routes_consumer,
    sandbox,
    service_b2b,
    service_consumer,
)
from keystile.oauth.callback import STATE_KIND

area = Area(
    name="oauth",
    routers=[routes_consumer.router, routes_consumer.public_router, routes_callback.router, routes_b2b.router],
    errors=[
        errors.OAuthTokenNotFound,
        errors.UnknownOAuthToken,
        errors.OAuthStateMismatch,
        errors.UnknownOAuthState,
        errors.InvalidIdToken,
        errors.OAuthProviderError,
        errors.OAuthConfigNotFound,
        errors.InvalidOAuthProvider,
        errors.OAuthAttachTokenNotFound,
        errors.OAuthUserRegistrationTaken,
        errors.OAuthUserRegistrationNotFound,
        errors_b2b.MemberOAuthRegistrationNotFound,
    ],
    token_kinds=[
        STATE_KIND,
        service_consumer.CONSUMER_KIND,
        service_consumer.ATTACH_KIND,
        service_b2b.ORGANIZATION_KIND,
        service_b2b.DISCOVERY_KIND,
    ],
    id_prefixes=["oauth-user-registration", "oauth-member-registration"],
    unknown_token_errors=[errors.UnknownOAuthToken],
    factors=list(factors.FACTORS.values()),
    sandbox_values=sandbox.VALUES,
    listeners={events.IntermediateSessionJoined: service_b2b.on_intermediate_session_joined},
)
