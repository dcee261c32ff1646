"""Consumer one-time passcodes (stytch.com/docs/api/otps): a 6-digit code sent by SMS,
WhatsApp or email to a User's phone number or address, spent by otps.authenticate to start a
session or add the factor to one. Codes live in core/passcodes.py (one live code per method,
hashed, single use); texts and emails go through the outbox, which refuses numbers outside
the project's SMS countries and floods of messages to one recipient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Row

from keystile import errors as shared
from keystile.core import emails as email_rules
from keystile.core import outbox, passcodes, phones, ratelimit, sandbox
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.core.ratelimit import Limit
from keystile.otps import errors, factors, messages
from keystile.otps import sandbox as sandbox_values
from keystile.sessions import sandbox as sessions_sandbox
from keystile.sessions import service as sessions
from keystile.sessions.repository import SessionRow
from keystile.users import sandbox as users_sandbox
from keystile.users import service as users

Channel = Literal["sms", "whatsapp", "email"]
DEFAULT_MINUTES = 2  # Stytch's default lifetime of a consumer SMS, WhatsApp or email code
# Wrong codes per phone number or email address: a 6-digit code is guessable, so a handful of
# tries, then 429 (a code itself dies after passcodes.MAX_WRONG_TRIES).
FAILURES = Limit("otp_failures", "5/10 minutes;20/day", failures=(errors.OtpCodeNotFound,))
MESSAGES = {"sms": messages.SMS, "whatsapp": messages.WHATSAPP, "email": messages.EMAIL}
FACTORS = {"sms": factors.SMS, "whatsapp": factors.WHATSAPP, "email": factors.EMAIL}


@dataclass(frozen=True)
class Sent:
    user_id: str
    method_id: str
    user_created: bool = False


@dataclass(frozen=True)
class Authenticated:
    user: Row[Any]
    method_id: str
    session: SessionRow | None
    session_token: str
    session_jwt: str


async def _deliver(ctx: Context, channel: Channel, method_id: str, to: str, expiration_minutes: int | None) -> None:
    minutes = passcodes.minutes(expiration_minutes, DEFAULT_MINUTES)
    code = await passcodes.issue(ctx, method_id, channel=channel, minutes=minutes)
    await outbox.enqueue(ctx, MESSAGES[channel], to=to, code=code, expiration_minutes=minutes)


async def _acting_user(
    ctx: Context, user_id: str | None, session_token: str | None, session_jwt: str | None
) -> Record | None:
    """The User a send names (by id, or by one of its sessions), or None."""
    if user_id:
        return await users.load(ctx, user_id)
    if session_token or session_jwt:
        return (await sessions.authenticate_user(ctx, token=session_token, session_jwt=session_jwt)).user
    return None


async def send_text(
    ctx: Context,
    channel: Channel,
    phone_number: str,
    *,
    expiration_minutes: int | None,
    user_id: str | None = None,
    session_token: str | None = None,
    session_jwt: str | None = None,
) -> Sent:
    """A code to an existing User's number (stytch.com/docs/api/send-otp-by-sms, -whatsapp);
    naming a User (by id or session) attaches the number to it first."""
    if sandbox.consult(ctx, sandbox_values.TEXT_SEND[channel], phone_number=phone_number):  # nothing is sent
        return await _sandbox_text(ctx)
    number = phones.normalize(phone_number)
    await phones.require_allowed_country(ctx, number)
    owner = await _acting_user(ctx, user_id, session_token, session_jwt)
    if owner is not None:
        phone = await users.add_phone(ctx, owner.user_id, number)
    else:
        found = await users.find_phone(ctx, number)
        if found is None:
            raise shared.PhoneNumberNotFound()
        phone = found
    await _deliver(ctx, channel, phone.phone_id, number, expiration_minutes)
    return Sent(phone.user_id, phone.phone_id)


async def login_or_create_text(
    ctx: Context, channel: Channel, phone_number: str, *, expiration_minutes: int | None, pending: bool
) -> Sent:
    """A code to the number's User, created if there is none
    (stytch.com/docs/api/log-in-or-create-user-by-sms, -whatsapp)."""
    if sandbox.consult(ctx, sandbox_values.TEXT_LOGIN_OR_CREATE[channel], phone_number=phone_number):
        return await _sandbox_text(ctx)  # nothing is sent
    number = phones.normalize(phone_number)
    await phones.require_allowed_country(ctx, number)
    passcodes.minutes(expiration_minutes, DEFAULT_MINUTES)
    user, phone, created = await users.find_or_create_by_phone(ctx, number, pending=pending)
    await _deliver(ctx, channel, phone.phone_id, number, expiration_minutes)
    return Sent(user.user_id, phone.phone_id, created)


async def send_email(
    ctx: Context,
    email: str,
    *,
    expiration_minutes: int | None,
    user_id: str | None = None,
    session_token: str | None = None,
    session_jwt: str | None = None,
) -> Sent:
    """A code to an existing User's address (stytch.com/docs/api/send-otp-by-email); naming a
    User attaches the address to it first."""
    if sandbox.consult(ctx, sandbox_values.EMAIL_SEND, email=email):  # nothing is sent
        return await _sandbox_email(ctx)
    address = email_rules.validate(email)
    owner = await _acting_user(ctx, user_id, session_token, session_jwt)
    found = await users.find_email(ctx, address)
    if owner is not None and found is None:
        found = await users.add_email(ctx, owner.user_id, address, verified=False)
    elif found is None:
        raise shared.EmailNotFound()
    elif owner is not None and found.user_id != owner.user_id:
        raise shared.DuplicateEmail()
    await _deliver(ctx, "email", found.email_id, found.email, expiration_minutes)
    return Sent(found.user_id, found.email_id)


async def login_or_create_email(ctx: Context, email: str, *, expiration_minutes: int | None, pending: bool) -> Sent:
    """A code to the address's User, created if there is none
    (stytch.com/docs/api/log-in-or-create-user-by-email-otp)."""
    if sandbox.consult(ctx, sandbox_values.EMAIL_LOGIN_OR_CREATE, email=email):  # nothing is sent
        return await _sandbox_email(ctx)
    passcodes.minutes(expiration_minutes, DEFAULT_MINUTES)
    user, row, created = await users.find_or_create_by_email(ctx, email, pending=pending)
    await _deliver(ctx, "email", row.email_id, row.email, expiration_minutes)
    return Sent(user.user_id, row.email_id, created)


async def _method(ctx: Context, method_id: str) -> tuple[Row[Any] | None, str]:
    """The phone or email row a method id names, and its phone number or address."""
    phone = await users.get_phone(ctx, method_id)
    if phone is not None:
        return phone, phone.phone_number
    email = await users.get_email(ctx, method_id)
    if email is not None:
        return email, email.email
    return None, ""


async def authenticate(
    ctx: Context,
    method_id: str,
    code: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """Spend a code (stytch.com/docs/api/authenticate-otp): the phone number or address is
    verified, a pending User becomes active, and a session is started or the one named gains
    the factor. A wrong, spent, superseded or expired code is `otp_code_not_found`; wrong ones
    count towards FAILURES per phone number or address."""
    sessions.check_duration(minutes)
    if method_id == sandbox_values.phone_id(ctx) and sandbox.consult(ctx, sandbox_values.AUTHENTICATE, code=code):
        return await _sandbox_authenticate(ctx, method_id, minutes, session_token, session_jwt, custom_claims)
    method, destination = await _method(ctx, method_id)
    if destination == sandbox.EMAIL and sandbox.consult(ctx, sandbox_values.AUTHENTICATE, code=code):
        return await _sandbox_authenticate(ctx, method_id, minutes, session_token, session_jwt, custom_claims)
    if method is None:
        async with ratelimit.attempts(ctx, method_id):
            raise errors.NoLiveCode()
    async with ratelimit.guard(ctx, (FAILURES, destination)):
        outcome = await passcodes.spend(ctx, method_id, code)
        if not outcome.accepted:
            raise errors.OtpCodeNotFound() if outcome.known else errors.NoLiveCode()
    now = ctx.clock.now()
    if outcome.channel == "email":
        await users.verify_email(ctx, method_id)
        factor = FACTORS["email"].build(now, email_factor={"email_id": method_id, "email_address": destination})
    else:
        await users.verify_phone(ctx, method_id)
        factor = FACTORS[outcome.channel].build(
            now, phone_number_factor={"phone_id": method_id, "phone_number": destination}
        )
    user = await users.activate(ctx, await users.load(ctx, method.user_id))
    session, token, jwt = None, "", ""
    if minutes is not None or session_token or session_jwt:
        session, token = await sessions.start(
            ctx,
            "consumer",
            factor=factor,
            minutes=minutes if minutes is not None else sessions.MIN_MINUTES,
            user_id=user.user_id,
            custom_claims=custom_claims,
            existing_token=session_token,
            existing_jwt=session_jwt,
        )
        jwt = await sessions.user_jwt(ctx, session, [])
    return Authenticated(user, method_id, session, token, jwt)


async def _sandbox_text(ctx: Context) -> Sent:
    user, _ = await users_sandbox.user(ctx)
    return Sent(user.user_id, sandbox_values.phone_id(ctx))


async def _sandbox_email(ctx: Context) -> Sent:
    user, email = await users_sandbox.user(ctx)
    return Sent(user.user_id, email.email_id)


async def _sandbox_authenticate(
    ctx: Context,
    method_id: str,
    minutes: int | None,
    session_token: str | None,
    session_jwt: str | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """The documented code on a sandbox method logs the project's sandbox user in: into the
    sandbox session (the documented session token) unless the caller names one to extend."""
    user, email, _ = await sessions_sandbox.session(ctx)
    if minutes is None and not session_token and not session_jwt:
        return Authenticated(user, method_id, None, "", "")
    now = ctx.clock.now()
    if method_id == sandbox_values.phone_id(ctx):
        factor = FACTORS["sms"].build(
            now, phone_number_factor={"phone_id": method_id, "phone_number": sandbox_values.PHONE}
        )
    else:
        factor = FACTORS["email"].build(now, email_factor={"email_id": email.email_id, "email_address": email.email})
    session, token = await sessions.start(
        ctx,
        "consumer",
        factor=factor,
        minutes=minutes if minutes is not None else sessions.MIN_MINUTES,
        user_id=user.user_id,
        custom_claims=custom_claims,
        existing_token=session_token or (None if session_jwt else sandbox.SESSION_SUCCESS),
        existing_jwt=session_jwt,
    )
    return Authenticated(user, method_id, session, token, await sessions.user_jwt(ctx, session, []))
