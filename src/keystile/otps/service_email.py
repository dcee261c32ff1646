"""B2B email OTP (stytch.com/docs/b2b/api/otp-email-login-or-signup, /otp-email-authenticate,
/otp-email-discovery-send, /otp-email-discovery-authenticate): a passcode emailed to log in to
an organization (a primary factor: the MFA policy applies) or to discover the organizations an
email may enter (an intermediate session, as the discovery magic link gives).

Codes are kept in the store of every passcode (core/passcodes.py): 6 digits from `secrets`, stored
hashed, one live code per Member (organization login) or per email address (discovery), a new
send replaces the last, 10 minutes by default (2 to 15), used once. Wrong codes are bounded
per code (five, then it is dead until a new send) and per Member or address."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors as shared
from keystile.core import emails, events, outbox, passcodes, ratelimit
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.core.ratelimit import Limit
from keystile.discovery import service as discovery
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.organizations import repository as orgs_repo
from keystile.organizations import service as orgs_service
from keystile.organizations.serializers import organization_json
from keystile.otps import errors, factors, messages
from keystile.sessions import intermediate, logins
from keystile.sessions import service as sessions

EMAIL = "email"  # an organization login's code; the subject is the Member
DISCOVERY = "email_discovery"  # a discovery code; the subject is the normalized address
DEFAULT_MINUTES, MIN_MINUTES, MAX_MINUTES = 10, 2, 15
# Wrong codes against one sent code: five, then that code is refused (429) until a new send.
CODE_FAILURES = Limit("email_otp_code_failures", "5/10 minutes", failures=(errors.OtpCodeNotFound,))
# Wrong codes against one Member or address across sends, so sending again does not reopen the guessing.
SUBJECT_FAILURES = Limit("email_otp_subject_failures", "15/hour;30/day", failures=(errors.OtpCodeNotFound,))


def method_id(method: str, subject: str) -> str:
    """The passcode store's key of a code: the Member for a login, or for discovery a digest
    of the normalized address (an address may be longer than a method id; the address itself
    is the code's destination)."""
    if method == DISCOVERY:
        return f"discovery_otp:{hashlib.sha256(subject.encode()).hexdigest()}"
    return f"{method}_otp:{subject}"


def expiration(minutes: int | None, field: str) -> int:
    if minutes is None:
        return DEFAULT_MINUTES
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise shared.InvalidExpiration(
            f"{field} must be between {MIN_MINUTES} and {MAX_MINUTES} minutes, not {minutes}."
        )
    return minutes


async def _issue(ctx: Context, method: str, subject: str, destination: str, minutes: int) -> str:
    return await passcodes.issue(
        ctx, method_id(method, subject), channel="email", minutes=minutes, destination=destination
    )


async def _redeem(ctx: Context, method: str, subject: str, code: str) -> str:
    """Spend the subject's live code if `code` is it, and return the address it was sent to;
    otherwise `otp_code_not_found`, counted against that code and the subject (429 once either
    is used up)."""
    key = method_id(method, subject)
    current = await passcodes.sent(ctx, key)
    sent = f"{method}:{subject}:{current.code_hash if current else '-'}"
    async with ratelimit.guard(ctx, (CODE_FAILURES, sent), (SUBJECT_FAILURES, f"{method}:{subject}")):
        spent = await passcodes.spend(ctx, key, code)
        if not spent.accepted or spent.destination is None:
            raise errors.OtpCodeNotFound()
    return spent.destination


async def _create_member(ctx: Context, org: Row[Any], email: str) -> Row[Any] | None:
    """A pending Member, or None when a concurrent request created the same one first."""
    try:
        async with ctx.conn.begin_nested():
            return await members_service.create_member(ctx, org, email=email, status="pending")
    except (IntegrityError, shared.DuplicateMemberEmail):
        return None


async def login_or_signup(
    ctx: Context,
    organization_ref: str,
    email: str,
    *,
    login_expiration_minutes: int | None,
    signup_expiration_minutes: int | None,
) -> dict[str, Any]:
    """Email a login code to an active Member, a signup code to anyone else; a new Member is
    created `pending` only where the organization provisions members just in time for the
    email's domain (as the organization magic link does)."""
    email = emails.validate(email)
    login_minutes = expiration(login_expiration_minutes, "login_expiration_minutes")
    signup_minutes = expiration(signup_expiration_minutes, "signup_expiration_minutes")
    org = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
    if member is not None and member.status == "deleted":
        raise shared.MemberDeleted()
    if member is None and not discovery.jit_allowed(org, email):
        raise shared.EmailJITProvisioningNotAllowed()
    if member is None:
        await orgs_service.check_domain_claim(ctx, email, org)
    if discovery.primary_required(org, member, "otp") is not None:
        raise shared.OperationRestrictedByOrganizationAuthMethods(
            "This organization's allowed_auth_methods do not include email_otp: no code is sent."
        )
    created = False
    if member is None:
        member = await _create_member(ctx, org, email)
        created = member is not None
        if member is None:
            member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
            if member is None:  # created and deleted again in between; the caller may retry
                raise shared.MemberNotFound()
    login = member.status == "active"
    minutes = login_minutes if login else signup_minutes
    code = await _issue(ctx, EMAIL, member.member_id, member.email, minutes)
    await outbox.enqueue(
        ctx,
        messages.EMAIL_LOGIN if login else messages.EMAIL_SIGNUP,
        to=member.email,
        code=code,
        expires_minutes=minutes,
        organization_name=org.name,
    )
    return {
        "member_id": member.member_id,
        "member_created": created,
        "member": await members_service.member_view(ctx, member, org),
        "organization": organization_json(org),
    }


async def authenticate(
    ctx: Context,
    organization_ref: str,
    email: str,
    code: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    intermediate_session_token: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """The emailed code as a primary factor: the Member is active and its email verified, and
    `complete_primary` answers with a session, or with an intermediate session when the
    organization's MFA policy or the Member's enrolment asks for a second factor."""
    sessions.check_duration(minutes)
    given = [v for v in (intermediate_session_token, session_token, session_jwt) if v]
    if len(given) > 1:
        raise shared.TooManySessionArguments("Pass one of intermediate_session_token, session_token and session_jwt.")
    email = emails.validate(email)
    org = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
    if member is None or member.status == "deleted":
        raise errors.OtpCodeNotFound()  # no code was sent to a Member of this address here
    ist = None
    if intermediate_session_token:  # refused before the code is tried, so the code is not spent
        ist = await intermediate.peek(ctx, intermediate_session_token)
        if ist.organization_id not in (None, "", org.organization_id) or (ist.email or "").lower() != email.lower():
            raise shared.InvalidIntermediateSessionForOrganization(
                "This intermediate session does not belong to this email address and organization."
            )
    destination = await _redeem(ctx, EMAIL, member.member_id, code)
    if emails.normalize(destination) != member.email_normalized:
        raise errors.OtpCodeNotFound("This passcode was sent before the Member's email address changed.")
    required = discovery.primary_required(org, member, "otp")
    if required is not None:
        raise shared.OperationRestrictedByOrganizationAuthMethods(
            "This organization's allowed_auth_methods do not include email_otp."
        )
    now = ctx.clock.now()
    factor = factors.EMAIL.build(now, email_factor={"email_id": member.email_id, "email_address": member.email})
    prior = None
    if ist is not None and intermediate_session_token:
        # Consumed, its factors carried into the session (or into the intermediate session
        # that asks for a second factor), as an exchange would.
        await intermediate.redeem(ctx, intermediate_session_token)
        prior = logins.carried_factors(ist, member, factor)
    member = await members_service.activate(ctx, member)
    if ist is not None and discovery.ist_oauth(ist):
        # The code proved the address an OAuth login named: its provider account and tokens
        # are the Member's now (the oauth area keeps them).
        await events.emit(ctx, events.IntermediateSessionJoined(ist.data or {}, org.organization_id, member.member_id))
        member = await members_repo.find(ctx.conn, ctx.project_id, org.organization_id, member.member_id) or member
    fields = await logins.complete_primary(
        ctx,
        org,
        member,
        factor=factor,
        minutes=minutes,
        custom_claims=custom_claims,
        existing_token=session_token,
        existing_jwt=session_jwt,
        prior_factors=prior,
    )
    return {**fields, "organization_id": org.organization_id, "method_id": member.email_id, "member_device": None}


async def discovery_send(ctx: Context, email: str, *, expiration_minutes: int | None) -> None:
    """Email a discovery code (stytch.com/docs/b2b/api/send-discovery-otp-email)."""
    email = emails.validate(email)
    minutes = expiration(expiration_minutes, "discovery_expiration_minutes")
    code = await _issue(ctx, DISCOVERY, emails.normalize(email), email, minutes)
    await outbox.enqueue(ctx, messages.EMAIL_DISCOVERY, to=email, code=code, expires_minutes=minutes)


async def discovery_authenticate(ctx: Context, email: str, code: str) -> dict[str, Any]:
    """Trade a discovery code for an intermediate session and the organizations its email may
    enter (stytch.com/docs/b2b/api/authenticate-discovery-otp)."""
    email = emails.validate(email)
    destination = await _redeem(ctx, DISCOVERY, emails.normalize(email), code)
    ist, ist_row = await intermediate.issue(ctx, destination, factor_type="otp")
    return {
        "intermediate_session_token": ist,
        "intermediate_session_token_expires_at": rfc3339(ist_row.expires_at),
        "email_address": destination,
        "discovered_organizations": await discovery.discovered_organizations(ctx, destination, include_eligible=True),
    }
