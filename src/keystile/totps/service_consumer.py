"""Consumer TOTP (stytch.com/docs/api/totp-overview): a User's authenticator app, as a login
method or a second factor of an existing session, with ten recovery codes as its backup.
It shares codes, secrets and their rate limit with B2B TOTP (codes.py) and keeps its
registrations and recovery codes in the users' own tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Row

from keystile.core.context import Context
from keystile.recovery_codes import factors as recovery_factors
from keystile.recovery_codes import service as recovery_codes
from keystile.sessions import service as sessions
from keystile.sessions.repository import SessionRow
from keystile.totps import codes, errors, factors, repository
from keystile.users import service as users

DEFAULT_EXPIRATION_MINUTES = 1440  # Stytch's default for a consumer TOTP not yet authenticated
NO_TOTP = "The user has no TOTP registration."


@dataclass(frozen=True)
class Authenticated:
    user: Row[Any]
    totp_id: str
    session: SessionRow | None
    session_token: str
    session_jwt: str


async def create(ctx: Context, user_ref: str, *, expiration_minutes: int | None) -> dict[str, Any]:
    """A new, unverified TOTP and ten recovery codes (stytch.com/docs/api/totp-create). A
    verified one must be deleted first (users.delete_totp); a pending one is replaced."""
    user = await users.load(ctx, user_ref)
    minutes = DEFAULT_EXPIRATION_MINUTES if expiration_minutes is None else expiration_minutes
    codes.check_expiration(minutes)
    existing = await repository.current(ctx.conn, ctx.project_id, user.user_id, ctx.clock.now(), "consumer")
    if existing is not None and existing.verified:
        raise errors.ActiveTotpExists("The user already has an active TOTP registration: delete it first.")
    totp_id, secret = await codes.register(ctx, "consumer", user.user_id, prefix="totp", expiration_minutes=minutes)
    recovery = await recovery_codes.store(ctx, user.user_id, product="consumer")
    body = await users.user_body(ctx, user)
    name = body["emails"][0]["email"] if body["emails"] else user.user_id
    return {
        "totp_id": totp_id,
        "secret": secret,
        "qr_code": codes.provisioning_qr_code(secret, name=name, issuer=ctx.project.name),
        "recovery_codes": recovery,
        "user_id": user.user_id,
        "user": body,
    }


async def _session(
    ctx: Context,
    user: Row[Any],
    factor: dict[str, Any],
    *,
    minutes: int | None,
    session_token: str | None,
    session_jwt: str | None,
    custom_claims: dict[str, Any] | None,
) -> tuple[SessionRow | None, str, str]:
    """Start a session of the factor, or add the factor to the User's session named by token
    or JWT; neither without a duration or a session named (Stytch's `session_duration_minutes`)."""
    if minutes is None and not (session_token or session_jwt):
        return None, "", ""
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
    return session, token, await sessions.user_jwt(ctx, session, [])


async def authenticate(
    ctx: Context,
    user_ref: str,
    code: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """A code from the User's authenticator (stytch.com/docs/api/totp-authenticate): the first
    accepted one verifies a new TOTP; a session is started, or the one named gains the factor."""
    sessions.check_duration(minutes)
    user = await users.load(ctx, user_ref)
    registration = await repository.current(ctx.conn, ctx.project_id, user.user_id, ctx.clock.now(), "consumer")
    if registration is None:
        raise errors.TotpNotFound(NO_TOTP)
    await codes.verify(ctx, "consumer", user.user_id, registration, code)
    totp_id = registration.totp_registration_id
    factor = factors.TOTP.build(ctx.clock.now(), authenticator_app_factor={"totp_id": totp_id})
    session, token, jwt = await _session(
        ctx,
        user,
        factor,
        minutes=minutes,
        session_token=session_token,
        session_jwt=session_jwt,
        custom_claims=custom_claims,
    )
    return Authenticated(user, totp_id, session, token, jwt)


async def recovery_codes_of(ctx: Context, user_ref: str) -> dict[str, Any]:
    """The User's TOTPs and their unused recovery codes (stytch.com/docs/api/totp-get-recovery-codes)."""
    user = await users.load(ctx, user_ref)
    live = await repository.live(ctx.conn, ctx.project_id, user.user_id, ctx.clock.now(), "consumer")
    unused = await recovery_codes.unused_codes(ctx, user.user_id, product="consumer") if live else []
    return {
        "user_id": user.user_id,
        "totps": [
            {"totp_id": row.totp_registration_id, "verified": row.verified, "recovery_codes": unused} for row in live
        ],
    }


async def recover(
    ctx: Context,
    user_ref: str,
    code: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """Spend one recovery code in place of a TOTP code (stytch.com/docs/api/totp-recover)."""
    sessions.check_duration(minutes)
    user = await users.load(ctx, user_ref)
    registration = await repository.current(ctx.conn, ctx.project_id, user.user_id, ctx.clock.now(), "consumer")
    if registration is None:
        raise errors.TotpNotFound(NO_TOTP)
    await recovery_codes.spend(ctx, user.user_id, code, product="consumer")
    totp_id = registration.totp_registration_id
    factor = recovery_factors.RECOVERY_CODE.build(
        ctx.clock.now(), recovery_code_factor={"totp_recovery_code_id": totp_id}
    )
    session, token, jwt = await _session(
        ctx,
        user,
        factor,
        minutes=minutes,
        session_token=session_token,
        session_jwt=session_jwt,
        custom_claims=custom_claims,
    )
    return Authenticated(user, totp_id, session, token, jwt)


async def delete(ctx: Context, totp_id: str) -> Row[Any]:
    """Delete a User's TOTP and its recovery codes (stytch.com/docs/api/delete-user-totp);
    another project's TOTP is not found. Sessions holding the factor live on."""
    registration = await repository.get(ctx.conn, ctx.project_id, totp_id, "consumer")
    if registration is None:
        raise errors.TotpNotFound("No TOTP with this totp_id in this project.")
    await repository.delete_for(ctx.conn, ctx.project_id, registration.user_id, product="consumer")
    await recovery_codes.forget(ctx, registration.user_id, product="consumer")
    return await users.load(ctx, registration.user_id)
