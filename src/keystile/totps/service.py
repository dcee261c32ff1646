"""B2B TOTP (stytch.com/docs/b2b/api/totp-overview): a Member's authenticator app as a second
factor. The secret is encrypted with the master key; codes are 6 digits over 30 seconds
(RFC 6238, SHA-1, as authenticator apps expect), one step of drift either way is accepted,
and a code is never accepted twice."""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import timedelta
from typing import Any

import pyotp
import segno
from sqlalchemy.engine import Row

from keystile import errors as shared
from keystile.core import ids, ratelimit
from keystile.core.context import Context
from keystile.core.ratelimit import Limit
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.organizations import repository as orgs_repo
from keystile.organizations.repository import settings_of
from keystile.organizations.serializers import organization_json
from keystile.recovery_codes import service as recovery_codes
from keystile.sessions import logins
from keystile.sessions import service as sessions
from keystile.totps import errors, factors, guards, repository

STEP_SECONDS = 30
DRIFT_STEPS = 1
DEFAULT_EXPIRATION_MINUTES = 60  # an unverified registration, until a first code proves it
MIN_EXPIRATION, MAX_EXPIRATION = 5, 1440
# Wrong codes per Member: a 6-digit code is guessable, so only a few tries, then 429.
FAILURES = Limit(
    "totp_failures",
    "5/15 minutes;20/day",
    failures=(errors.UnableToAuthenticateTotp, errors.TotpCodeAlreadyAuthenticated),
)
ENROLLMENT = frozenset({"enroll", "unenroll"})
SECRET_MESSAGE = "secret must be a base32 TOTP secret of at least 16 characters."


def _purpose(ctx: Context, member_id: str, registration_id: str) -> str:
    return f"totp:{ctx.project_id}:{member_id}:{registration_id}"


def qr_code(uri: str) -> str:
    """The provisioning URI as a PNG data URL, in the form Stytch returns
    (`data:image/png;base64, iVBOR…`)."""
    data = segno.make(uri, error="m").png_data_uri(scale=4, border=4)
    return data.replace("data:image/png;base64,", "data:image/png;base64, ", 1)


def check_secret(secret: str) -> str:
    cleaned = secret.replace(" ", "").upper()
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise shared.InvalidArgument(SECRET_MESSAGE) from None
    if len(raw) < 10:
        raise shared.InvalidArgument(SECRET_MESSAGE)
    return cleaned


def matching_step(secret: str, code: str, now_seconds: float) -> int | None:
    """The time step within one step of now whose code is `code`, or None."""
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now_seconds // STEP_SECONDS)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


async def _member(ctx: Context, organization_ref: str, member_ref: str) -> tuple[Row[Any], Row[Any]]:
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_service.get_existing(ctx, organization.organization_id, member_ref)
    return organization, member


async def _check_caller(
    ctx: Context,
    organization: Row[Any],
    member: Row[Any],
    *,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
) -> None:
    """An intermediate session or session named with a create must be this Member's."""
    if intermediate_session_token:
        await logins.check_intermediate(ctx, intermediate_session_token, organization, member)
    if session_token or session_jwt:
        current = await sessions.find(ctx, "b2b", token=session_token, session_jwt=session_jwt)
        if current.member_id != member.member_id:
            raise shared.SessionNotFound("The session does not belong to this Member.")


async def create(
    ctx: Context,
    organization_ref: str,
    member_ref: str,
    *,
    expiration_minutes: int | None,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
) -> dict[str, Any]:
    """A new, unverified registration and its recovery codes (stytch.com/docs/b2b/api/create-totp).
    An active one must be deleted first; a pending one is replaced."""
    organization, member = await _member(ctx, organization_ref, member_ref)
    logins.check_mfa_method(organization, "totp")
    await _check_caller(
        ctx,
        organization,
        member,
        intermediate_session_token=intermediate_session_token,
        session_token=session_token,
        session_jwt=session_jwt,
    )
    if member.totp_registration_id:
        raise errors.ActiveTotpExists()
    minutes = DEFAULT_EXPIRATION_MINUTES if expiration_minutes is None else expiration_minutes
    if not MIN_EXPIRATION <= minutes <= MAX_EXPIRATION:
        raise shared.InvalidArgument(f"expiration_minutes must be between {MIN_EXPIRATION} and {MAX_EXPIRATION}.")
    await repository.delete_for(ctx.conn, ctx.project_id, member.member_id, pending_only=True)
    registration_id = ids.new_id("member-totp", ctx.live)
    secret = pyotp.random_base32(32)
    now = ctx.clock.now()
    await repository.create(
        ctx.conn,
        totp_registration_id=registration_id,
        project_id=ctx.project_id,
        organization_id=organization.organization_id,
        member_id=member.member_id,
        secret=ctx.state.keyring.master.seal(_purpose(ctx, member.member_id, registration_id), secret),
        verified=False,
        last_step=0,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=member.email, issuer_name=organization.name)
    return {
        "member_id": member.member_id,
        "totp_registration_id": registration_id,
        "secret": secret,
        "qr_code": qr_code(uri),
        "recovery_codes": await recovery_codes.store(ctx, member.member_id),
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
    }


async def migrate(
    ctx: Context, organization_ref: str, member_ref: str, *, secret: str, codes: list[str]
) -> dict[str, Any]:
    """Import a TOTP secret (and recovery codes) from another system, verified at once
    (stytch.com/docs/b2b/api/migrate-totp); without codes, ten are minted."""
    organization, member = await _member(ctx, organization_ref, member_ref)
    if member.totp_registration_id:
        raise errors.ActiveTotpExists()
    secret = check_secret(secret)
    await repository.delete_for(ctx.conn, ctx.project_id, member.member_id, pending_only=True)
    registration_id = ids.new_id("member-totp", ctx.live)
    await repository.create(
        ctx.conn,
        totp_registration_id=registration_id,
        project_id=ctx.project_id,
        organization_id=organization.organization_id,
        member_id=member.member_id,
        secret=ctx.state.keyring.master.seal(_purpose(ctx, member.member_id, registration_id), secret),
        verified=True,
        last_step=0,
        created_at=ctx.clock.now(),
        expires_at=None,
    )
    member = await members_repo.update(
        ctx.conn, ctx.project_id, member.member_id, totp_registration_id=registration_id, updated_at=ctx.clock.now()
    )
    stored = await recovery_codes.store(ctx, member.member_id, codes)
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
        "totp_registration_id": registration_id,
        "recovery_codes": stored,
    }


async def authenticate(
    ctx: Context,
    organization_ref: str,
    member_ref: str,
    code: str,
    *,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    set_mfa_enrollment: str | None,
    set_default_mfa: bool | None,
) -> dict[str, Any]:
    """A code from the Member's authenticator as a second factor
    (stytch.com/docs/b2b/api/authenticate-totp): it completes an intermediate session, or joins
    a session of the Member (step-up). The first accepted code verifies a new registration."""
    sessions.check_duration(minutes)
    if set_mfa_enrollment is not None and set_mfa_enrollment not in ENROLLMENT:
        raise shared.InvalidArgument("set_mfa_enrollment must be enroll or unenroll.")
    organization, member = await _member(ctx, organization_ref, member_ref)
    logins.check_mfa_method(organization, "totp")
    now = ctx.clock.now()
    registration = await repository.current(ctx.conn, ctx.project_id, member.member_id, now)
    if registration is None:
        raise errors.TotpNotFound()
    secret = ctx.state.keyring.master.unseal(
        _purpose(ctx, member.member_id, registration.totp_registration_id), registration.secret
    )
    async with ratelimit.guard(ctx, (FAILURES, member.member_id)):
        step = matching_step(secret, code, now.timestamp())
        if step is None:
            raise errors.UnableToAuthenticateTotp()
        if not await repository.accept_step(ctx.conn, ctx.project_id, registration.totp_registration_id, step):
            raise errors.TotpCodeAlreadyAuthenticated()
    changes: dict[str, Any] = {}
    if member.totp_registration_id != registration.totp_registration_id:
        changes["totp_registration_id"] = registration.totp_registration_id
    if set_default_mfa or not member.default_mfa_method:
        changes["default_mfa_method"] = "totp"
    if set_mfa_enrollment is not None and settings_of(organization).get("mfa_policy") != "REQUIRED_FOR_ALL":
        changes["mfa_enrolled"] = set_mfa_enrollment == "enroll"
    if changes:
        member = await members_repo.update(ctx.conn, ctx.project_id, member.member_id, **changes, updated_at=now)
    factor = factors.TOTP.build(now, authenticator_app_factor={"totp_id": registration.totp_registration_id})
    result = await logins.complete_secondary(
        ctx,
        organization,
        member,
        factor=factor,
        intermediate_session_token=intermediate_session_token,
        session_token=session_token,
        session_jwt=session_jwt,
        minutes=minutes,
        custom_claims=custom_claims,
    )
    return {
        "member_id": result["member_id"],
        "member": result["member"],
        "organization": result["organization"],
        "session_token": result["session_token"],
        "session_jwt": result["session_jwt"],
        "member_session": result["member_session"],
        "member_device": None,
    }


async def delete_totp(ctx: Context, organization_ref: str, member_ref: str) -> dict[str, Any]:
    """Delete the Member's registration and its recovery codes
    (stytch.com/docs/b2b/api/delete-member-mfa-totp). Sessions holding the factor live on."""
    organization, member = await _member(ctx, organization_ref, member_ref)
    await guards.delete_totp(ctx, organization.organization_id)
    if not member.totp_registration_id:
        pending = await repository.current(ctx.conn, ctx.project_id, member.member_id, ctx.clock.now())
        if pending is None:
            raise errors.TotpNotFound()
    await repository.delete_for(ctx.conn, ctx.project_id, member.member_id)
    await recovery_codes.forget(ctx, member.member_id)
    changes: dict[str, Any] = {"totp_registration_id": None, "updated_at": ctx.clock.now()}
    if member.default_mfa_method == "totp":
        changes["default_mfa_method"] = ""
    member = await members_repo.update(ctx.conn, ctx.project_id, member.member_id, **changes)
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
    }
