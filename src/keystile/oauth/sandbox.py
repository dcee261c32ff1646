"""The sandbox values of consumer oauth.authenticate (stytch.com/docs/guides/testing/sandbox-values)."""

from __future__ import annotations

from keystile.core.sandbox import CONSUMER_PAGE, SandboxValue
from keystile.oauth import errors

AUTHENTICATE = "POST /v1/oauth/authenticate"
SUCCESS = "hdPVZHHX0UoRa7hJTuuPHi1vlddffSnoweRbVFf5-H8g"
NOT_FOUND = "59cnLELtq5cFVS6uYK9f-pAWzBkhqZl8AvLhbhOvKNWw"

VALUES: list[SandboxValue] = [
    SandboxValue(AUTHENTICATE, {"token": SUCCESS}, None, CONSUMER_PAGE),
    SandboxValue(AUTHENTICATE, {"token": NOT_FOUND}, errors.OAuthTokenNotFound, CONSUMER_PAGE),
]
