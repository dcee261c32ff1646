"""The sandbox values of consumer one-time passcodes (core/sandbox.py, from Stytch's consumer
sandbox page): a send or login_or_create to the documented phone number or to the sandbox
address answers 200 and sends nothing, and the documented code spends on the method that send
returned, logging the project's sandbox user in (users/sandbox.py) as any code would.

The documented number (+10000000000) is no number any country has, so it is matched before a
number is parsed; it has no row, and its method id is fixed per project."""

from __future__ import annotations

import uuid

from keystile.core import sandbox
from keystile.core.context import Context
from keystile.core.sandbox import CONSUMER_PAGE, SandboxValue

PHONE = "+10000000000"
CODE = "000000"
AUTHENTICATE = "POST /v1/otps/authenticate"
TEXT_SEND = {"sms": "POST /v1/otps/sms/send", "whatsapp": "POST /v1/otps/whatsapp/send"}
TEXT_LOGIN_OR_CREATE = {
    "sms": "POST /v1/otps/sms/login_or_create",
    "whatsapp": "POST /v1/otps/whatsapp/login_or_create",
}
EMAIL_SEND = "POST /v1/otps/email/send"
EMAIL_LOGIN_OR_CREATE = "POST /v1/otps/email/login_or_create"

VALUES: list[SandboxValue] = [
    *(SandboxValue(endpoint, {"phone_number": PHONE}, None, CONSUMER_PAGE) for endpoint in TEXT_SEND.values()),
    *(
        SandboxValue(endpoint, {"phone_number": PHONE}, None, CONSUMER_PAGE)
        for endpoint in TEXT_LOGIN_OR_CREATE.values()
    ),
    SandboxValue(EMAIL_SEND, {"email": sandbox.EMAIL}, None, CONSUMER_PAGE),
    SandboxValue(EMAIL_LOGIN_OR_CREATE, {"email": sandbox.EMAIL}, None, CONSUMER_PAGE),
    # With the method_id the sandbox send returned (service_consumer.authenticate checks it).
    SandboxValue(AUTHENTICATE, {"code": CODE}, None, CONSUMER_PAGE),
]


def phone_id(ctx: Context) -> str:
    """The method id of the documented number in this test project."""
    return f"phone-number-test-{uuid.uuid5(uuid.NAMESPACE_URL, f'keystile-sandbox-phone:{ctx.project_id}')}"
