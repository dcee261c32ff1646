"""The oauth area's Stytch errors (error types as Stytch's API reference names them)."""

from __future__ import annotations

from keystile.errors import InvalidPublicToken as InvalidPublicToken  # shared with sso, which declares it
from keystile.errors import define

OAuthTokenNotFound = define(
    "OAuthTokenNotFound", 400, "oauth_token_not_found", "The OAuth token is unknown, used or expired."
)


class UnknownOAuthToken(OAuthTokenNotFound):  # type: ignore[misc,valid-type]
    """No such token in this project (counted as a guess by the rate limit)."""


OAuthStateMismatch = define(
    "OAuthStateMismatch",
    400,
    "oauth_state_mismatch",
    "The state in the cookie doesn't match with the state in the query parameter. Please reach out to the "
    "application developer for support.",
)


class UnknownOAuthState(OAuthStateMismatch):  # type: ignore[misc,valid-type]
    """The callback's state was never issued in this project, or was used or expired."""


InvalidIdToken = define(
    "InvalidIdToken", 400, "oauth_invalid_id_token", "The identity provider's ID token could not be verified."
)
OAuthProviderError = define(
    "OAuthProviderError",
    400,
    "oauth_provider_error",
    "The identity provider refused the login, or could not be reached.",
)
OAuthConfigNotFound = define(
    "OAuthConfigNotFound",
    404,
    "oauth_config_not_found",
    "This project has no OAuth client for this provider. Configure one (keystile oauth set).",
)
InvalidOAuthProvider = define(
    "InvalidOAuthProvider", 400, "invalid_oauth_provider", "keystile knows no such OAuth provider."
)
OAuthAttachTokenNotFound = define(
    "OAuthAttachTokenNotFound",
    404,
    "oauth_attach_token_not_found",
    "The oauth_attach_token is unknown, used, expired, or for another provider.",
)
OAuthUserRegistrationTaken = define(
    "OAuthUserRegistrationTaken",
    400,
    "oauth_user_registration_already_exists",
    "This provider account is already registered to another user.",
)
OAuthUserRegistrationNotFound = define(
    "OAuthUserRegistrationNotFound",
    404,
    "oauth_user_registration_not_found",
    "No such OAuth registration of a User in this project.",
)
