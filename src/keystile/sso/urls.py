"""The browser-facing SSO paths, under keystile's public base URL (`KEYSTILE_PUBLIC_URL`)."""

from __future__ import annotations

START_PATH = "/v1/public/sso/start"
CALLBACK_PATH = "/v1/b2b/sso/callback/{connection_id}"
CALLBACK_COOKIE_PATH = "/v1/b2b/sso/callback/"


def callback_url(base_url: str, connection_id: str) -> str:
    """A connection's callback URL (its OIDC `redirect_url`, its SAML `acs_url`)."""
    return base_url + CALLBACK_PATH.format(connection_id=connection_id).lstrip("/")


def start_url(base_url: str) -> str:
    return base_url + START_PATH.lstrip("/")
