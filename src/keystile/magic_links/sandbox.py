"""The sandbox values of the magic-link endpoints (core/sandbox.py has the values and their
sources; this says which endpoint and field each applies to)."""

from __future__ import annotations

from keystile import errors
from keystile.core import sandbox
from keystile.core.sandbox import B2B_PAGE, CONSUMER_PAGE, SandboxValue

B2B_LOGIN_OR_SIGNUP = "POST /v1/b2b/magic_links/email/login_or_signup"
B2B_INVITE = "POST /v1/b2b/magic_links/email/invite"
B2B_AUTHENTICATE = "POST /v1/b2b/magic_links/authenticate"
DISCOVERY_SEND = "POST /v1/b2b/magic_links/email/discovery/send"
DISCOVERY_AUTHENTICATE = "POST /v1/b2b/magic_links/discovery/authenticate"
LOGIN_OR_CREATE = "POST /v1/magic_links/email/login_or_create"
SEND = "POST /v1/magic_links/email/send"
INVITE = "POST /v1/magic_links/email/invite"
AUTHENTICATE = "POST /v1/magic_links/authenticate"


def _tokens(endpoint: str, field: str, source: str) -> list[SandboxValue]:
    """The three documented magic-link tokens: 200, 401 unable_to_auth_magic_link, 404 magic_link_not_found."""
    return [
        SandboxValue(endpoint, {field: sandbox.MAGIC_LINK_SUCCESS}, None, source),
        SandboxValue(endpoint, {field: sandbox.MAGIC_LINK_UNABLE_TO_AUTH}, errors.UnableToAuthMagicLink, source),
        SandboxValue(endpoint, {field: sandbox.MAGIC_LINK_NOT_FOUND}, errors.MagicLinkNotFound, source),
    ]


ORGANIZATION = {"email_address": sandbox.EMAIL, "organization_id": sandbox.ORGANIZATION_ID}

VALUES: list[SandboxValue] = [
    # B2B, organization flow.
    SandboxValue(B2B_LOGIN_OR_SIGNUP, ORGANIZATION, None, B2B_PAGE),
    SandboxValue(B2B_INVITE, ORGANIZATION, None, B2B_PAGE),
    *_tokens(B2B_AUTHENTICATE, "magic_links_token", B2B_PAGE),
    # B2B, discovery flow.
    SandboxValue(DISCOVERY_SEND, {"email_address": sandbox.EMAIL}, None, B2B_PAGE),
    *_tokens(DISCOVERY_AUTHENTICATE, "discovery_magic_links_token", B2B_PAGE),
    # Consumer: "sandbox@stytch.com to test sending a magic link", on each endpoint that sends one.
    *(
        SandboxValue(endpoint, {"email": sandbox.EMAIL}, None, CONSUMER_PAGE)
        for endpoint in (LOGIN_OR_CREATE, SEND, INVITE)
    ),
    *_tokens(AUTHENTICATE, "token", CONSUMER_PAGE),
]
