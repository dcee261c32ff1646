"""The sso area's own Stytch errors."""

from __future__ import annotations

# Shared by the browser-facing routes of SSO and OAuth (keystile/errors.py); sso declares it.
from keystile.errors import InvalidPublicToken as InvalidPublicToken
from keystile.errors import define

ConnectionNotFound = define("ConnectionNotFound", 404, "connection_not_found", "The SSO connection could not be found.")
ConnectionNotActive = define(
    "ConnectionNotActive",
    400,
    "connection_not_active",
    "The SSO connection is not active yet: set up the identity provider's values first.",
)
UnableToAuthSSOToken = define(
    "UnableToAuthSSOToken",
    401,
    "unable_to_auth_sso_token",
    "The SSO token could not be authenticated: it was already used or has expired.",
)


class SSOTokenNotFound(UnableToAuthSSOToken):  # type: ignore[misc,valid-type]
    """No such SSO token in this project (a guess, for the rate limit); same envelope."""

    status_code = 404
    error_type = "sso_token_not_found"
    error_message = "The SSO token could not be found."


SSOJITProvisioningNotAllowed = define(
    "SSOJITProvisioningNotAllowed",
    403,
    "sso_jit_provisioning_not_allowed",
    "This organization does not allow just-in-time provisioning of Members through this SSO connection.",
)
NoDefaultSSOConnection = define(
    "NoDefaultSSOConnection",
    400,
    "no_default_sso_connection",
    "The organization has no default SSO connection: pass a connection_id.",
)
SSOStateMismatch = define(
    "SSOStateMismatch",
    400,
    "invalid_sso_state",
    "This SSO login is unknown, expired or already finished, or was started in another browser.",
)
IdentityProviderError = define(
    "IdentityProviderError",
    400,
    "identity_provider_error",
    "The identity provider did not complete the login.",
)
InvalidIdToken = define(
    "InvalidIdToken", 400, "invalid_id_token", "The identity provider's ID token could not be verified."
)
IdentityProviderUnreachable = define(
    "IdentityProviderUnreachable",
    400,
    "identity_provider_unreachable",
    "The identity provider could not be reached, or answered something unusable.",
)
MissingEmail = define(
    "MissingEmail",
    400,
    "sso_missing_email",
    "The identity provider did not give the Member's email address.",
)
InvalidExternalConnection = define(
    "InvalidExternalConnection",
    400,
    "invalid_external_connection",
    "The external connection must name an active SSO connection of another organization in this project.",
)
