"""The sso area: SSO connections (OIDC, SAML, external), the browser-facing start and
callback routes, and sso.authenticate."""

from __future__ import annotations

from keystile.core import events
from keystile.core.area import Area
from keystile.sso import errors as sso_errors
from keystile.sso import factors, login, routes, routes_public, service
from keystile.sso.saml import routes as saml_routes
from keystile.sso.saml import service as saml_service

area = Area(
    name="sso",
    routers=[routes_public.router, routes.router, saml_routes.router, saml_routes.public_router],
    errors=[
        sso_errors.ConnectionNotFound,
        sso_errors.ConnectionNotActive,
        sso_errors.UnableToAuthSSOToken,
        sso_errors.SSOTokenNotFound,
        sso_errors.SSOJITProvisioningNotAllowed,
        sso_errors.InvalidPublicToken,
        sso_errors.NoDefaultSSOConnection,
        sso_errors.SSOStateMismatch,
        sso_errors.IdentityProviderError,
        sso_errors.InvalidIdToken,
        sso_errors.IdentityProviderUnreachable,
        sso_errors.MissingEmail,
        sso_errors.InvalidExternalConnection,
    ],
    token_kinds=[login.FLOW_KIND, login.TOKEN_KIND],
    id_prefixes=[
        "oidc-connection",
        "saml-connection",
        "external-connection",
        "sso-registration",
        saml_service.CERTIFICATE_PREFIX,
        saml_service.PRIVATE_KEY_PREFIX,
    ],
    unknown_token_errors=[sso_errors.SSOTokenNotFound],
    factors=list(factors.ALL),
    listeners={events.SSOConnectionsNamed: service.on_connections_named},
)
