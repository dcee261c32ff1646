"""Consumer passwords (stytch.com/docs/api/password-create and the pages after it): create,
authenticate, migrate, the three resets, and users.delete_password. The hashes, strength,
breach checks and lockout are service.py's, shared with B2B."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Row

from keystile import errors as shared
from keystile.core import email_links, events, outbox, phones, ratelimit, redirect_urls, sandbox, tokens
from keystile.core import emails as email_rules
from keystile.core.context import Context
from keystile.core.redirect_urls import RedirectType
from keystile.passwords import errors, factors, messages, repository, service
from keystile.passwords import sandbox as sandbox_values
from keystile.sessions import sandbox as sessions_sandbox
from keystile.sessions import service as sessions
from keystile.sessions.repository import SessionRow
from keystile.users import service as users

RESET_TOKEN_KIND = "consumer_password_reset"
RESET_TOKEN_TYPE = "reset_password"  # the link's stytch_token_type
RESET_MINUTES = 30  # Stytch's default lifetime of a reset link; 5 to 10080 may be asked
MIN_RESET_MINUTES, MAX_RESET_MINUTES = 5, 10080
# passwords.sessions.reset needs a factor this recent that proves the email or the password.
RECENT_FACTOR = timedelta(minutes=5)
RECENT_FACTOR_TYPES = ("magic_link", "otp", "password", "email_otp")


@dataclass(frozen=True)
class Authenticated:
    user: Row[Any]
    session: SessionRow | None
    session_token: str
    session_jwt: str
    email_id: str = ""


def _account_key(email: str) -> str:
    """The lockout's key for a consumer account: its normalized address, known or not."""
    return f"user:{email_rules.normalize(email)}"


async def _session(
    ctx: Context,
    user: Row[Any],
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    session_token: str | None = None,
    session_jwt: str | None = None,
) -> tuple[SessionRow | None, str, str]:
    """A session with the password factor when one is asked for (a duration, or a session to
    extend); else none."""
    if minutes is None and not session_token and not session_jwt:
        return None, "", ""
    session, token = await sessions.start(
        ctx,
        "consumer",
        factor=factors.PASSWORD.build(ctx.clock.now()),
        minutes=minutes if minutes is not None else sessions.MIN_MINUTES,
        user_id=user.user_id,
        custom_claims=custom_claims,
        existing_token=session_token,
        existing_jwt=session_jwt,
    )
    return session, token, await sessions.user_jwt(ctx, session, [])


async def _sandbox(ctx: Context, minutes: int | None, custom_claims: dict[str, Any] | None) -> Authenticated:
    """The documented sandbox email with any password: the project's sandbox user, logged in to
    the sandbox session when a session is asked for; nothing is stored."""
    user, email, _ = await sessions_sandbox.session(ctx)
    if minutes is None:
        return Authenticated(user, None, "", "", email.email_id)
    session, token = await sessions.start(
        ctx,
        "consumer",
        factor=factors.PASSWORD.build(ctx.clock.now()),
        minutes=minutes,
        user_id=user.user_id,
        custom_claims=custom_claims,
        existing_token=sandbox.SESSION_SUCCESS,
    )
    return Authenticated(user, session, token, await sessions.user_jwt(ctx, session, []), email.email_id)


async def create(
    ctx: Context,
    email: str,
    password: str,
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    trusted_metadata: dict[str, Any] | None,
    untrusted_metadata: dict[str, Any] | None,
    name: dict[str, Any] | None,
) -> Authenticated:
    """A new User with this email and password (stytch.com/docs/api/password-create); an
    address that already has a User is `duplicate_email`, a weak or breached password
    `weak_password`."""
    sessions.check_duration(minutes)
    if sandbox.consult(ctx, sandbox_values.CREATE, email=email):
        return await _sandbox(ctx, minutes, custom_claims)
    address = email_rules.validate(email)
    if await users.find_email(ctx, address) is not None:
        raise shared.DuplicateEmail()
    await service.require_strong(ctx, password, email=address)
    user, email_row = await users.create_user(
        ctx,
        email=address,
        name=name,
        trusted_metadata=trusted_metadata,
        untrusted_metadata=untrusted_metadata,
    )
    await service.set_password(ctx, repository.user(user.user_id), password, check=False)
    user = await users.load(ctx, user.user_id)
    session, token, jwt = await _session(ctx, user, minutes=minutes, custom_claims=custom_claims)
    return Authenticated(user, session, token, jwt, email_row.email_id if email_row else "")


async def _check(ctx: Context, email: str, password: str) -> tuple[Row[Any], Row[Any]]:
    """The User of `email` and its password row when `password` is right; else the same
    `unauthorized_credentials` whether the address is unknown, has no password or the password
    is wrong, after the same one hash. Counted against the account's and the address's lockout."""
    address = email_rules.validate(email)
    async with service.login_guard(ctx, _account_key(address)):
        found = await users.find_email(ctx, address)
        owner = repository.user(found.user_id) if found is not None else None
        row = await service.verify(ctx, owner, password)
        if row is None or found is None:
            raise errors.WrongPassword()
    return await users.load(ctx, found.user_id), row


async def authenticate(
    ctx: Context,
    email: str,
    password: str,
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    session_token: str | None,
    session_jwt: str | None,
) -> Authenticated:
    """Log a User in by email and password (stytch.com/docs/api/password-authenticate). A
    password that must be reset (require_reset, or found breached now) is `reset_password`."""
    sessions.check_duration(minutes)
    if sandbox.consult(ctx, sandbox_values.AUTHENTICATE, email=email):
        return await _sandbox(ctx, minutes, custom_claims)
    user, row = await _check(ctx, email, password)
    await service.require_usable(ctx, repository.user(user.user_id), row, password)
    user = await users.activate(ctx, user)
    session, token, jwt = await _session(
        ctx, user, minutes=minutes, custom_claims=custom_claims, session_token=session_token, session_jwt=session_jwt
    )
    return Authenticated(user, session, token, jwt)


@dataclass(frozen=True)
class Migrated:
    user: Row[Any]
    email_id: str
    created: bool


async def migrate(
    ctx: Context,
    email: str,
    hash: str,
    hash_type: str,
    config: dict[str, Any] | None,
    *,
    trusted_metadata: dict[str, Any] | None,
    untrusted_metadata: dict[str, Any] | None,
    set_email_verified: bool,
    name: dict[str, Any] | None,
    phone_number: str | None,
    set_phone_number_verified: bool,
    external_id: str | None,
) -> Migrated:
    """Give the User of `email` (made if there is none) a password hash from elsewhere
    (stytch.com/docs/api/password-migrate): checked against its type now, verified as that
    type at the first login, then re-hashed with argon2id. A User that had a password gets
    the migrated one instead."""
    service.check_migrated(hash_type, hash, config)
    address = email_rules.validate(email)
    number = phones.normalize(phone_number) if phone_number else None
    found = await users.find_email(ctx, address)
    created = found is None
    if found is None:
        user, email_row, _ = await users.create_user_with(
            ctx,
            email=address,
            phone_number=number,
            pending=False,
            name=name,
            trusted_metadata=trusted_metadata,
            untrusted_metadata=untrusted_metadata,
            external_id=external_id,
        )
        assert email_row is not None
        email_id = email_row.email_id
    else:
        user, email_id = await users.load(ctx, found.user_id), found.email_id
        if number is not None and await users.find_phone(ctx, number) is None:
            await users.add_phone(ctx, user.user_id, number)
    if set_email_verified:
        await users.verify_email(ctx, email_id)
    if number is not None and set_phone_number_verified:
        phone = await users.find_phone(ctx, number)
        if phone is not None and phone.user_id == user.user_id:
            await users.verify_phone(ctx, phone.phone_id)
    await service.store_migrated(ctx, repository.user(user.user_id), hash_type, hash, config)
    return Migrated(await users.load(ctx, user.user_id), email_id, created)


async def on_user_email_verified(ctx: Context, event: events.UserEmailVerified) -> None:
    """A User that has a password proved its email by another method for the first time: the
    password, set while nobody had proven the address, must be reset before it logs in again
    (stytch.com/docs/api/password-authenticate: `reset_password`, against pre-hijacked accounts).
    A flow that verifies the address and sets a password (reset by email, migrate) verifies first."""
    await service.require_reset(ctx, repository.user(event.user_id))


async def delete_password(ctx: Context, password_id: str) -> Row[Any]:
    """users.delete_password: the User loses its password; its sessions stay."""
    row = await service.get(ctx, password_id)
    if row is None or row.user_id is None:
        raise errors.PasswordNotFound()
    await service.delete(ctx, repository.user(row.user_id))
    return await users.load(ctx, row.user_id)


# --- Resets ---


async def reset_start(
    ctx: Context,
    email: str,
    *,
    redirect_url: str | None,
    expiration_minutes: int | None,
    code_challenge: str | None,
) -> tuple[str, str]:
    """Email a password reset link (stytch.com/docs/api/password-email-reset-start): a
    single-use token leading to the project's reset_password redirect URL, through keystile's
    redirect page. (user_id, email_id); an address without a User is `email_not_found`."""
    minutes = RESET_MINUTES if expiration_minutes is None else expiration_minutes
    if not MIN_RESET_MINUTES <= minutes <= MAX_RESET_MINUTES:
        raise shared.InvalidExpiration()
    address = email_rules.validate(email)
    found = await users.find_email(ctx, address)
    if found is None:
        raise shared.EmailNotFound()
    url = await redirect_urls.resolve(ctx.conn, ctx.project_id, redirect_url, RedirectType.RESET_PASSWORD)
    link_url = email_links.app_url(url, stytch_token_type=RESET_TOKEN_TYPE)
    token, _ = await tokens.issue(
        ctx,
        RESET_TOKEN_KIND,
        minutes=minutes,
        email=email_rules.normalize(address),
        user_id=found.user_id,
        email_id=found.email_id,
        pkce_challenge=code_challenge,
        link_url=link_url,
    )
    link = await email_links.emailed_link(ctx, link_url, token)
    await outbox.enqueue(ctx, messages.CONSUMER_RESET, to=found.email, link=link, expires_minutes=minutes)
    return found.user_id, found.email_id


async def _replace(ctx: Context, user_id: str, password: str, *, keep: str | None = None) -> None:
    """The reset itself: the new password, and every other session of the User revoked."""
    await service.set_password(ctx, repository.user(user_id), password, check=False)
    await sessions.revoke_for(ctx, user_id=user_id, keep=keep)


async def reset_by_email(
    ctx: Context,
    token: str,
    password: str,
    *,
    code_verifier: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """Spend a reset link's token on a new password (stytch.com/docs/api/password-email-reset):
    the token works once, the email is verified, every session of the User is revoked and,
    when asked, a new one starts. A weak password leaves the token usable."""
    sessions.check_duration(minutes)
    async with ratelimit.attempts(ctx, token):  # unknown tokens and wrong verifiers count
        try:
            live = await tokens.peek(ctx, token, (RESET_TOKEN_KIND,), missing=_ResetTokenUnusable)
        except _ResetTokenUnusable:
            live = await _redeem(ctx, token)  # raises the error that says why
        await service.require_strong(ctx, password, email=live.email)
        row = await _redeem(ctx, token)
        tokens.check_pkce(row, code_verifier)
    if row.email_id:  # first, so that proving the address does not mark the new password
        await users.verify_email(ctx, row.email_id)
    await _replace(ctx, row.user_id, password)
    user = await users.activate(ctx, await users.load(ctx, row.user_id))
    session, session_token, jwt = await _session(ctx, user, minutes=minutes, custom_claims=custom_claims)
    return Authenticated(user, session, session_token, jwt)


async def _redeem(ctx: Context, token: str) -> Row[Any]:
    return await tokens.redeem(
        ctx, token, (RESET_TOKEN_KIND,), used=shared.UnableToAuthMagicLink, unknown=shared.MagicLinkNotFound
    )


class _ResetTokenUnusable(shared.UnableToAuthMagicLink):  # type: ignore[misc,valid-type]
    """A reset token that is not live when first read: redeem then says which error it is."""


async def reset_by_existing_password(
    ctx: Context,
    email: str,
    existing_password: str,
    new_password: str,
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    session_token: str | None,
    session_jwt: str | None,
) -> Authenticated:
    """Replace a password by proving the current one (stytch.com/docs/api/password-existing-
    password-reset); works on a password that must be reset. Every session is revoked; a new
    one starts when asked."""
    sessions.check_duration(minutes)
    user, _ = await _check(ctx, email, existing_password)
    await service.require_strong(ctx, new_password, email=email)
    await _replace(ctx, user.user_id, new_password)
    user = await users.activate(ctx, await users.load(ctx, user.user_id))
    session, token, jwt = await _session(ctx, user, minutes=minutes, custom_claims=custom_claims)
    return Authenticated(user, session, token, jwt)


def _recent(factors_list: list[dict[str, Any]], now: datetime) -> bool:
    for factor in factors_list:
        if factor.get("type") not in RECENT_FACTOR_TYPES:
            continue
        if factor.get("type") == "otp" and not factor.get("email_factor"):
            continue
        stamp = factor.get("last_authenticated_at")
        if stamp and now - datetime.fromisoformat(stamp) <= RECENT_FACTOR:
            return True
    return False


async def reset_by_session(
    ctx: Context,
    password: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """Set a new password for the User of a session (stytch.com/docs/api/password-session-reset)
    whose email or password was proven in the last 5 minutes; the User's other sessions are
    revoked, this one goes on."""
    sessions.check_duration(minutes)
    if not session_token and not session_jwt:
        raise shared.SessionNotFound()
    found = await sessions.authenticate_user(ctx, token=session_token, session_jwt=session_jwt)
    if not _recent(list(found.row.authentication_factors), ctx.clock.now()):
        raise errors.SessionTooOldToResetPassword()
    await service.require_strong(ctx, password, email=found.emails[0].email if found.emails else None)
    await _replace(ctx, found.user.user_id, password, keep=found.row.session_id)
    current = await sessions.authenticate_user(
        ctx, token=session_token, session_jwt=session_jwt, minutes=minutes, custom_claims=custom_claims
    )
    user = await users.load(ctx, found.user.user_id)
    return Authenticated(user, current.row, session_token or "", await sessions.user_jwt(ctx, current.row, []))
