"""The magic links area: B2B (discovery, login/signup, invite) and consumer email magic links."""

from __future__ import annotations

from keystile import errors
from keystile.core.area import Area
from keystile.core.tokens import TokenKind
from keystile.magic_links import factors, messages, routes_b2b, routes_consumer, routes_redirect, sandbox

area = Area(
    name="magic_links",
    routers=[routes_b2b.router, routes_consumer.router, routes_redirect.router],
    errors=[
        errors.InvalidExpiration,
        errors.UnableToAuthMagicLink,
        errors.MagicLinkNotFound,
        errors.PKCEMismatch,
        errors.PKCEExpectedCodeVerifier,
        errors.PKCEDidNotExpectCodeVerifier,
        errors.MemberAlreadyActive,
        errors.InvalidEmailForInvites,
        errors.MemberDeleted,
        errors.UserAlreadyActive,
        errors.InviteNotFound,
        errors.OperationRestrictedByOrganizationAuthMethods,
    ],
    token_kinds=[TokenKind.DISCOVERY_MAGIC_LINK, TokenKind.B2B_MAGIC_LINK, TokenKind.CONSUMER_MAGIC_LINK],
    messages=messages.ALL,
    unknown_token_errors=[errors.MagicLinkNotFound],
    token_failure_errors=[errors.PKCEMismatch],
    factors=[factors.MAGIC_LINK_EMAIL],
    sandbox_values=sandbox.VALUES,
)
