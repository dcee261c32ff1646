"""Impersonation's errors: one `error_type` for every token that cannot be redeemed, as
Stytch has; the subclass marks a token that never existed in this project, so the
unknown-token rate limit counts it (area.py `unknown_token_errors`)."""

from __future__ import annotations

from keystile.errors import define

UnableToAuthImpersonationToken = define(
    "UnableToAuthImpersonationToken",
    401,
    "unable_to_auth_impersonation_token",
    "The impersonation token could not be authenticated because it was either already used or expired. "
    "Generate another impersonation token.",
)


class ImpersonationTokenNotFound(UnableToAuthImpersonationToken):  # type: ignore[misc,valid-type]
    """Unknown in this project (never issued, or issued by another project)."""
