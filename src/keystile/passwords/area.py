"""The passwords area: consumer and B2B passwords (stytch.com/docs/api/password-create,
stytch.com/docs/b2b/api/passwords-authenticate), one store of hashes (models/passwords.py)
for users and members, strength and breach checks, and migrated hashes."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.core.events import UserEmailVerified
from keystile.passwords import (
    errors,
    errors_b2b,
    factors,
    messages,
    messages_b2b,
    routes_b2b,
    routes_consumer,
    sandbox,
    service,
    service_b2b,
    service_consumer,
)

area = Area(
    name="passwords",
    routers=[routes_consumer.router, routes_b2b.router],
    errors=[
        errors.WeakPassword,
        errors.WrongPassword,
        errors.ResetPassword,
        errors.PasswordNotFound,
        errors.InvalidPasswordHash,
        errors.SessionTooOldToResetPassword,
        *errors_b2b.ALL,
    ],
    token_kinds=[service_consumer.RESET_TOKEN_KIND, service_b2b.TokenKind.RESET, service_b2b.TokenKind.DISCOVERY_RESET],
    messages=[*messages.ALL, *messages_b2b.ALL],
    unknown_token_errors=[errors_b2b.PasswordResetTokenNotFound],
    id_prefixes=[service.ID_PREFIX],
    rate_limits=list(service.LIMITS),
    factors=[factors.PASSWORD],
    sandbox_values=sandbox.VALUES,
    listeners={UserEmailVerified: service_consumer.on_user_email_verified},
)
