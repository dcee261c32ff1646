"""The B2B OAuth errors of the oauth area (the shared ones are in oauth/errors.py)."""

from __future__ import annotations

from keystile.errors import define

MemberOAuthRegistrationNotFound = define(
    "MemberOAuthRegistrationNotFound",
    404,
    "oauth_registration_not_found",
    "This Member has not logged in with this OAuth provider: no tokens are kept.",
)
