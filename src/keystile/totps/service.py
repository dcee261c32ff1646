"""B2B TOTP (stytch.com/docs/b2b/api/totp-overview): a Member's authenticator app as a second
factor. What B2B and consumer TOTP share (codes, secrets, the rate limit) is in codes.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile import errors as shared
from keystile.core.context import Context
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.organizations import repository as orgs_repo
from keystile.organizations.repository import settings_of
from keystile.organizations.serializers import organization_json
from keystile.recovery_codes import service as recovery_codes
from keystile.sessions import logins
from keystile.sessions import service as sessions
from keystile.totps import codes, errors, factors, guards, repository

DEFAULT_EXPIRATION_MINUTES = 60  # an unverified registration, until a first code proves it


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
    codes.check_expiration(minutes)
    registration_id, secret = await codes.register(
        ctx,
        "b2b",
        member.member_id,
        prefix="member-totp",
        expiration_minutes=minutes,
        organization_id=organization.organization_id,
    )
    return {
        "member_id": member.member_id,
        "totp_registration_id": registration_id,
        "secret": secret,
        "qr_code": codes.provisioning_qr_code(secret, name=member.email, issuer=organization.name),
        "recovery_codes": await recovery_codes.store(ctx, member.member_id),
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
    }


async def migrate(
    ctx: Context, organization_ref: str, member_ref: str, *, secret: str, recovery: list[str]
) -> dict[str, Any]:
    """Import a TOTP secret (and recovery codes) from another system, verified at once
    (stytch.com/docs/b2b/api/migrate-totp); without codes, ten are minted."""
    organization, member = await _member(ctx, organization_ref, member_ref)
    if member.totp_registration_id:
        raise errors.ActiveTotpExists()
    registration_id, _ = await codes.register(
        ctx,
        "b2b",
        member.member_id,
        prefix="member-totp",
        secret=codes.check_secret(secret),
        organization_id=organization.organization_id,
    )
    member = await members_repo.update(
        ctx.conn, ctx.project_id, member.member_id, totp_registration_id=registration_id, updated_at=ctx.clock.now()
    )
    stored = await recovery_codes.store(ctx, member.member_id, recovery)
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
    logins.check_enrollment(set_mfa_enrollment)
    organization, member = await _member(ctx, organization_ref, member_ref)
    logins.check_mfa_method(organization, "totp")
    now = ctx.clock.now()
    registration = await repository.current(ctx.conn, ctx.project_id, member.member_id, now)
    if registration is None:
        raise errors.TotpNotFound()
    await codes.verify(ctx, "b2b", member.member_id, registration, code)
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
    return logins.second_factor_answer(result)


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
