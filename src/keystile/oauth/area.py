"""The oauth area: social login with Google, Microsoft, GitHub and the other providers
(oauth/providers.py): projects' clients, the start routes and the shared callback, consumer
oauth.authenticate and oauth.attach, and the provider tokens of users and Members."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.oauth import errors, factors, routes_callback, routes_consumer, sandbox, service_consumer
from keystile.oauth.callback import STATE_KIND

area = Area(
    name="oauth",
    routers=[routes_consumer.router, routes_consumer.public_router, routes_callback.router],
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
    ],
    token_kinds=[STATE_KIND, service_consumer.CONSUMER_KIND, service_consumer.ATTACH_KIND],
    id_prefixes=["oauth-user-registration", "oauth-member-registration"],
    unknown_token_errors=[errors.UnknownOAuthToken],
    factors=list(factors.FACTORS.values()),
    sandbox_values=sandbox.VALUES,
)
