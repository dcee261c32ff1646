"""The documented sandbox values of consumer passwords (core/sandbox.py): sandbox@stytch.com
with any password succeeds on passwords.create and passwords.authenticate, as the project's
sandbox user, without storing anything."""

from __future__ import annotations

from keystile.core.sandbox import CONSUMER_PAGE, EMAIL, SandboxValue

CREATE = "POST /v1/passwords"
AUTHENTICATE = "POST /v1/passwords/authenticate"

VALUES = [
    SandboxValue(CREATE, {"email": EMAIL}, None, CONSUMER_PAGE),
    SandboxValue(AUTHENTICATE, {"email": EMAIL}, None, CONSUMER_PAGE),
]
