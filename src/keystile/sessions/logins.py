"""Where every B2B login ends (ARCHITECTURE.md, "Every login ends in one place").

A primary method (an organization magic link, a discovery exchange or organization creation)
proves who someone is and hands over to `complete_primary`, which applies the organization's
MFA rules: a session, or an intermediate session bound to the Member with `mfa_required`
(stytch.com/docs/b2b/guides/mfa/overview). A second factor (TOTP, a recovery code) hands
over to `complete_secondary`, which turns that intermediate session into a session holding
both factors, or adds its factor to an existing session (step-up). Impersonation is the one
exception, as Stytch documents: its session needs no second factor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import events, tokens
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.core.tokens import TokenKind
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.members.serializers import member_json, role_ids
from keystile.organizations.repository import settings_of
from keystile.organizations.serializers import organization_json
from keystile.sessions import intermediate
from keystile.sessions import service as sessions

# The factor types that count as a second factor (Stytch's `mfa_methods`: sms_otp, totp; a
# recovery code stands in for the TOTP it backs up).
SECONDARY_TYPES = frozenset({"totp", "recovery_codes", "otp"})
SECONDARY_DELIVERY = frozenset({"authenticator_app", "recovery_code", "sms", "whatsapp"})


def is_secondary(factor: dict[str, Any]) -> bool:
    return factor.get("type") in SECONDARY_TYPES and factor.get("delivery_method") in SECONDARY_DELIVERY


def mfa_method_allowed(organization: Row[Any], method: str) -> bool:
    """`mfa_methods: RESTRICTED` limits the second factors that count to `allowed_mfa_methods`
    (`sms_otp`, `totp`)."""
    settings = settings_of(organization)
    return settings.get("mfa_methods") != "RESTRICTED" or method in (settings.get("allowed_mfa_methods") or [])


def check_mfa_method(organization: Row[Any], method: str) -> None:
    if not mfa_method_allowed(organization, method):
        raise errors.OperationRestrictedByOrganizationMfaMethods()


def mfa_needed(organization: Row[Any], member: Row[Any]) -> bool:
    """The organization requires MFA of everyone, or the Member enrolled."""
    return settings_of(organization).get("mfa_policy") == "REQUIRED_FOR_ALL" or bool(member.mfa_enrolled)


def sms_phone(organization: Row[Any], member: Row[Any]) -> str:
    """The Member's verified MFA phone number if the organization allows SMS OTP, else ""."""
    if not mfa_method_allowed(organization, "sms_otp") or not getattr(member, "mfa_phone_number_verified", False):
        return ""
    return str(member.mfa_phone_number or "")


def sends_sms(organization: Row[Any], member: Row[Any]) -> bool:
    """Stytch texts a passcode unasked after a primary login that needs MFA when the Member has a
    verified phone and SMS is its default second factor, or its only one."""
    if not sms_phone(organization, member):
        return False
    totp = member.totp_registration_id and mfa_method_allowed(organization, "totp")
    return member.default_mfa_method == "sms_otp" or not totp


def mfa_required(organization: Row[Any], member: Row[Any] | None) -> dict[str, Any] | None:
    """Stytch's MfaRequired (PY `b2b/models/mfa.py`) for this Member in this organization, or
    None when a primary factor is enough. `secondary_auth_initiated` is null here: only a
    login that texts the passcode (`complete_primary`) says `sms_otp`, never discovery."""
    if member is None:
        # Joining by email domain: the new Member will have no second factor yet.
        if settings_of(organization).get("mfa_policy") == "REQUIRED_FOR_ALL":
            return {"member_options": None, "secondary_auth_initiated": None}
        return None
    if not mfa_needed(organization, member):
        return None
    totp = member.totp_registration_id if mfa_method_allowed(organization, "totp") else None
    return {
        "member_options": {"mfa_phone_number": sms_phone(organization, member), "totp_registration_id": totp or ""},
        "secondary_auth_initiated": None,
    }


async def _session_fields(
    ctx: Context,
    organization: Row[Any],
    member: Row[Any],
    *,
    factor: dict[str, Any],
    prior_factors: list[dict[str, Any]] | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    existing_token: str | None,
    existing_jwt: str | None,
) -> dict[str, Any]:
    row, token = await sessions.start(
        ctx,
        "b2b",
        factor=factor,
        prior_factors=prior_factors,
        minutes=minutes if minutes is not None else sessions.DEFAULT_B2B_MINUTES,
        member_id=member.member_id,
        organization_id=organization.organization_id,
        custom_claims=custom_claims,
        existing_token=existing_token,
        existing_jwt=existing_jwt,
    )
    roles = role_ids(member, organization)
    retired = await members_repo.retired_emails(ctx.conn, ctx.project_id, [member.member_id])
    return {
        "member_id": member.member_id,
        "member": member_json(member, organization, retired[member.member_id]),
        "organization": organization_json(organization),
        "session_token": token,
        "session_jwt": await sessions.member_jwt(ctx, row, roles, organization.slug),
        "member_session": sessions.member_session_json(row, roles, organization.slug),
        "member_authenticated": True,
        "intermediate_session_token": "",
        "mfa_required": None,
        "primary_required": None,
    }


async def _existing_has_secondary(
    ctx: Context, member: Row[Any], existing_token: str | None, existing_jwt: str | None
) -> bool:
    """An existing session of this Member that already holds a second factor satisfies MFA."""
    if not (existing_token or existing_jwt):
        return False
    current = await sessions.find(ctx, "b2b", token=existing_token or None, session_jwt=existing_jwt or None)
    return current.member_id == member.member_id and any(is_secondary(f) for f in current.authentication_factors)


async def complete_primary(
    ctx: Context,
    organization: Row[Any],
    member: Row[Any],
    *,
    factor: dict[str, Any],
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    existing_token: str | None = None,
    existing_jwt: str | None = None,
    prior_factors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A primary factor proved this (active) Member: a session, or, when the organization's MFA
    policy or the Member's enrolment asks for a second factor, an intermediate session bound to
    the Member (10 minutes, single use) with `mfa_required`. No session is started then; when
    SMS is the Member's second factor, its passcode is texted at once (`SecondFactorSmsDue`).
    `prior_factors` (from a consumed intermediate session, `carried_factors`) come first in
    either."""
    required = mfa_required(organization, member)
    if required is not None and not await _existing_has_secondary(ctx, member, existing_token, existing_jwt):
        if sends_sms(organization, member):
            await events.emit(ctx, events.SecondFactorSmsDue(organization.organization_id, member.member_id))
            required["secondary_auth_initiated"] = "sms_otp"
        ist, ist_row = await tokens.issue(
            ctx,
            TokenKind.INTERMEDIATE_SESSION,
            minutes=intermediate.IST_MINUTES,
            email=member.email,
            organization_id=organization.organization_id,
            member_id=member.member_id,
            data={"email_address": member.email, "email_verified": True, "factors": [*(prior_factors or []), factor]},
        )
        return {
            "member_id": member.member_id,
            "member": await members_service.member_view(ctx, member, organization),
            "organization": organization_json(organization),
            "session_token": "",
            "session_jwt": "",
            "member_session": None,
            "member_authenticated": False,
            "intermediate_session_token": ist,
            "intermediate_session_token_expires_at": rfc3339(ist_row.expires_at),
            "mfa_required": required,
            "primary_required": None,
        }
    return await _session_fields(
        ctx,
        organization,
        member,
        factor=factor,
        prior_factors=prior_factors,
        minutes=minutes,
        custom_claims=custom_claims,
        existing_token=existing_token,
        existing_jwt=existing_jwt,
    )


async def complete_imported(
    ctx: Context,
    organization: Row[Any],
    member: Row[Any],
    *,
    factor: dict[str, Any],
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """A session brought in from another provider (sessions.migrate): the other provider
    authenticated the Member, so, as Stytch's answer has no intermediate session, no second
    factor is asked for here (docs/differences-from-stytch.md). A pending or invited Member
    becomes active."""
    member = await members_service.activate(ctx, member)
    return await _session_fields(
        ctx,
        organization,
        member,
        factor=factor,
        prior_factors=None,
        minutes=minutes,
        custom_claims=custom_claims,
        existing_token=None,
        existing_jwt=None,
    )


def carried_factors(ist: Row[Any], member: Row[Any], factor: dict[str, Any]) -> list[dict[str, Any]]:
    """The factors an intermediate session proved, as a session lists them, to go before
    `factor` (one of the same type and delivery is `factor` again, not listed twice). A
    discovery or primary-required session keeps only its factor's type and time; it proved
    the Member's email."""
    carried = []
    for f in (ist.data or {}).get("factors", []):
        if not isinstance(f, dict) or (f.get("type"), f.get("delivery_method")) == (
            factor["type"],
            factor["delivery_method"],
        ):
            continue
        if "last_authenticated_at" not in f:
            stamp = f.get("authenticated_at") or factor["last_authenticated_at"]
            f = {
                "type": f.get("type", "magic_link"),
                "delivery_method": f.get("delivery_method", "email"),
                "last_authenticated_at": stamp,
                "created_at": stamp,
                "updated_at": stamp,
                "email_factor": {"email_id": member.email_id, "email_address": member.email},
            }
        carried.append(f)
    return carried


async def check_intermediate(ctx: Context, token: str, organization: Row[Any], member: Row[Any]) -> Row[Any]:
    """An intermediate session usable for this Member's second factor (not consumed). One
    from another project is not found; one bound to another Member or organization, or a
    discovery one that names none, is refused."""
    ist = await intermediate.peek(ctx, token)
    if ist.organization_id != organization.organization_id or ist.member_id != member.member_id:
        raise errors.InvalidIntermediateSessionForOrganization(
            "This intermediate session does not belong to this Member of this organization."
        )
    return ist


ENROLLMENT = frozenset({"enroll", "unenroll"})
ANSWER_FIELDS = ("member_id", "member", "organization", "session_token", "session_jwt", "member_session")


def check_enrollment(set_mfa_enrollment: str | None) -> None:
    """A second factor's `set_mfa_enrollment`: enroll, unenroll, or not given."""
    if set_mfa_enrollment is not None and set_mfa_enrollment not in ENROLLMENT:
        raise errors.InvalidArgument("set_mfa_enrollment must be enroll or unenroll.")


def second_factor_answer(result: dict[str, Any]) -> dict[str, Any]:
    """What a second factor's authenticate answers (TOTP, SMS OTP), from `complete_secondary`'s
    result."""
    return {**{name: result[name] for name in ANSWER_FIELDS}, "member_device": None}


async def complete_secondary(
    ctx: Context,
    organization: Row[Any],
    member: Row[Any],
    *,
    factor: dict[str, Any],
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """A second factor proved this Member. With an intermediate session: it is consumed and a
    session holding its primary factor and this one starts. With a session of the same Member:
    the factor joins it (step-up). With neither: refused, a second factor alone is no login."""
    given = [v for v in (intermediate_session_token, session_token, session_jwt) if v]
    if len(given) > 1:
        raise errors.TooManySessionArguments("Pass one of intermediate_session_token, session_token and session_jwt.")
    if intermediate_session_token:
        await check_intermediate(ctx, intermediate_session_token, organization, member)
        ist = await intermediate.redeem(ctx, intermediate_session_token)
        prior = [f for f in (ist.data or {}).get("factors", []) if isinstance(f, dict) and "last_authenticated_at" in f]
        member = await members_service.activate(ctx, member)
        return await _session_fields(
            ctx,
            organization,
            member,
            factor=factor,
            prior_factors=prior,
            minutes=minutes,
            custom_claims=custom_claims,
            existing_token=None,
            existing_jwt=None,
        )
    if session_token or session_jwt:
        current = await sessions.find(ctx, "b2b", token=session_token, session_jwt=session_jwt)
        if current.member_id != member.member_id or current.organization_id != organization.organization_id:
            raise errors.SessionNotFound("The session does not belong to this Member of this organization.")
        return await _session_fields(
            ctx,
            organization,
            member,
            factor=factor,
            prior_factors=None,
            minutes=minutes,
            custom_claims=custom_claims,
            existing_token=session_token,
            existing_jwt=session_jwt,
        )
    raise errors.InsufficientFactors()
