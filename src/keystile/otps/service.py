"""B2B SMS OTP (stytch.com/docs/b2b/api/otp-sms-send, /authenticate-otp-sms): a passcode texted
to a Member's MFA phone number as a second factor. A code is 6 digits from `secrets`, stored
hashed, lives two minutes, works once, and a Member has one live code (a new send replaces the
last). Wrong codes are bounded per code (five, then it is dead) and per Member."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile import errors as shared
from keystile.core import outbox, passcodes, phones, ratelimit
from keystile.core.context import Context
from keystile.core.events import SecondFactorSmsDue
from keystile.core.ratelimit import Limit
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.organizations import repository as orgs_repo
from keystile.organizations.repository import settings_of
from keystile.organizations.serializers import organization_json
from keystile.otps import errors, factors, guards, messages
from keystile.sessions import logins
from keystile.sessions import service as sessions

SMS = "sms"  # the channel of SMS codes in the passcode store (core/passcodes.py)
EXPIRATION_MINUTES = 2  # Stytch: "OTP codes expire after two minutes"
# Wrong codes against one sent code: five, then that code is refused (429) until a new send.
CODE_FAILURES = Limit("sms_otp_code_failures", "5/10 minutes", failures=(errors.OtpCodeNotFound,))
# Wrong codes against one Member across sends, so sending again does not reopen the guessing.
MEMBER_FAILURES = Limit("sms_otp_member_failures", "15/hour;30/day", failures=(errors.OtpCodeNotFound,))


def method_id(member_id: str) -> str:
    """The Member's SMS code in the passcode store."""
    return f"sms_otp:{member_id}"


async def _member(ctx: Context, organization_ref: str, member_ref: str) -> tuple[Row[Any], Row[Any]]:
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_service.get_existing(ctx, organization.organization_id, member_ref)
    return organization, member


async def text_code(ctx: Context, member: Row[Any], phone: str) -> None:
    """Text the Member a new code, replacing any live one. The outbox refuses a number outside
    the project's SMS countries (and past the text limit) before anything is written."""
    code = await passcodes.issue(
        ctx, method_id(member.member_id), channel=SMS, minutes=EXPIRATION_MINUTES, destination=phone
    )
    await outbox.enqueue(ctx, messages.SMS_MFA, to=phone, code=code, expiration_minutes=EXPIRATION_MINUTES)


async def send(
    ctx: Context,
    organization_ref: str,
    member_ref: str,
    *,
    mfa_phone_number: str | None,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
) -> dict[str, Any]:
    """Text a passcode to the Member's MFA phone number, or to `mfa_phone_number`, which then
    becomes the Member's (unverified until a code sent to it is accepted). A Member with an
    active second factor must be named by an intermediate session or a session of its own."""
    organization, member = await _member(ctx, organization_ref, member_ref)
    logins.check_mfa_method(organization, "sms_otp")
    given = [v for v in (intermediate_session_token, session_token, session_jwt) if v]
    if len(given) > 1:
        raise shared.TooManySessionArguments("Pass one of intermediate_session_token, session_token and session_jwt.")
    if intermediate_session_token:
        await logins.check_intermediate(ctx, intermediate_session_token, organization, member)
    elif session_token or session_jwt:
        current = await sessions.find(ctx, "b2b", token=session_token, session_jwt=session_jwt)
        if current.member_id != member.member_id:
            raise shared.SessionNotFound("The session does not belong to this Member.")
    elif member.mfa_phone_number_verified or member.totp_registration_id:
        raise shared.InsufficientFactors(
            "The Member has an active second factor: pass its intermediate_session_token, session_token or session_jwt."
        )
    phone = phones.normalize(mfa_phone_number) if mfa_phone_number else ""
    if member.mfa_phone_number:
        if phone and phone != member.mfa_phone_number:
            raise shared.MemberPhoneNumberAlreadySet()
        phone = member.mfa_phone_number
    elif not phone:
        raise errors.MemberPhoneNumberNotFound()
    else:
        member = await members_repo.update(
            ctx.conn,
            ctx.project_id,
            member.member_id,
            mfa_phone_number=phone,
            mfa_phone_number_verified=False,
            updated_at=ctx.clock.now(),
        )
    await text_code(ctx, member, phone)
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
    }


async def on_second_factor_sms_due(ctx: Context, event: SecondFactorSmsDue) -> None:
    """A primary login of a Member whose second factor is SMS: text the passcode unasked."""
    member = await members_service.get_existing(ctx, event.organization_id, event.member_id)
    await text_code(ctx, member, member.mfa_phone_number)


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
    """The texted passcode as a second factor: it completes an intermediate session, or joins a
    session of the Member (step-up). The first accepted code verifies the phone number."""
    sessions.check_duration(minutes)
    logins.check_enrollment(set_mfa_enrollment)
    organization, member = await _member(ctx, organization_ref, member_ref)
    logins.check_mfa_method(organization, "sms_otp")
    if intermediate_session_token:  # refused before the code is tried, so the code is not spent
        await logins.check_intermediate(ctx, intermediate_session_token, organization, member)
    now = ctx.clock.now()
    current = await passcodes.sent(ctx, method_id(member.member_id))
    sent = f"{member.member_id}:{current.code_hash if current else '-'}"
    async with ratelimit.guard(ctx, (CODE_FAILURES, sent), (MEMBER_FAILURES, member.member_id)):
        spent = await passcodes.spend(ctx, method_id(member.member_id), code)
        if not spent.accepted or spent.destination != member.mfa_phone_number:
            raise errors.OtpCodeNotFound()
    changes: dict[str, Any] = {}
    if not member.mfa_phone_number_verified:
        changes["mfa_phone_number_verified"] = True
    if set_default_mfa or not member.default_mfa_method:
        changes["default_mfa_method"] = "sms_otp"
    if settings_of(organization).get("mfa_policy") == "REQUIRED_FOR_ALL":
        if not member.mfa_enrolled:
            changes["mfa_enrolled"] = True
    elif set_mfa_enrollment is not None:
        changes["mfa_enrolled"] = set_mfa_enrollment == "enroll"
    if changes:
        member = await members_repo.update(ctx.conn, ctx.project_id, member.member_id, **changes, updated_at=now)
    factor = factors.SMS.build(now, phone_number_factor={"phone_id": "", "phone_number": spent.destination})
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


async def delete_mfa_phone_number(ctx: Context, organization_ref: str, member_ref: str) -> dict[str, Any]:
    """Remove the Member's MFA phone number and any live code sent to it
    (stytch.com/docs/b2b/api/delete-member-mfa-phone-number). Sessions holding the factor live on."""
    organization, member = await _member(ctx, organization_ref, member_ref)
    await guards.delete_mfa_phone_number(ctx, organization.organization_id, member.member_id)
    if not member.mfa_phone_number:
        raise errors.MemberPhoneNumberNotFound("The Member has no MFA phone number.")
    await passcodes.forget(ctx, method_id(member.member_id))
    changes: dict[str, Any] = {"mfa_phone_number": "", "mfa_phone_number_verified": False}
    if member.default_mfa_method == "sms_otp":
        changes["default_mfa_method"] = ""
    member = await members_repo.update(
        ctx.conn, ctx.project_id, member.member_id, **changes, updated_at=ctx.clock.now()
    )
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
    }
