"""The passwords area: consumer and B2B passwords (stytch.com/docs/api/password-create,
stytch.com/docs/b2b/api/passwords-authenticate), one store of hashes (models/passwords.py)
for users and members, strength and breach checks, and migrated hashes."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.passwords import errors, factors, routes_consumer, service

area = Area(
    name="passwords",
    routers=[routes_consumer.router],
    errors=[
        errors.WeakPassword,
        errors.WrongPassword,
        errors.ResetPassword,
        errors.PasswordNotFound,
        errors.InvalidPasswordHash,
    ],
    id_prefixes=[service.ID_PREFIX],
    rate_limits=list(service.LIMITS),
    factors=[factors.PASSWORD],
)
