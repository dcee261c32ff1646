"""B2B passwords: log a Member in with its email and password, set and reset passwords, and
the discovery flavour of both for projects whose passwords work across organizations
(stytch.com/docs/b2b/api/passwords-overview).

A password is either scoped to one Member (Stytch's organization-scoped passwords, the
default) or, when the project's password policy says `cross_org_passwords = true`, shared
by every Member with the same email address in the project (Stytch's cross-organization
passwords). Storage is one hash per Member either way (passwords/repository.py); a shared
password is written to every live Member of the address, and a Member without one of its
own (it joined after the password was set) logs in with the address's newest one.

Every login ends in sessions/logins.py `complete_primary` (ADR 0016), which applies the
organization's MFA policy. Failed attempts count against the account and the client address
(passwords/service.py `login_guard`); an unknown account costs what a wrong password costs (a
dummy hash is checked) and answers the same error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import email_links, emails, outbox, ratelimit, redirect_urls, tokens
from keystile.core.authz import check_role_ids
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.core.password_policy import PasswordPolicy
from keystile.core.redirect_urls import RedirectType
from keystile.core.tokens import TokenKind as CoreTokenKind
from keystile.discovery import service as discovery
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.organizations import repository as orgs_repo
from keystile.organizations.repository import settings_of
from keystile.organizations.serializers import organization_json
from keystile.passwords import errors as pw_errors
from keystile.passwords import errors_b2b, factors, guards_b2b, messages_b2b, repository
from keystile.passwords import service as passwords
from keystile.passwords.repository import Owner
from keystile.sessions import intermediate, logins
from keystile.sessions import service as sessions

MIN_EXPIRATION, MAX_EXPIRATION = 5, 10_080
DEFAULT_RESET_MINUTES = 30
# The `stytch_token_type` of a B2B password reset link (reference §2, `multi_tenant_passwords`).
RESET_TOKEN_TYPE = "multi_tenant_passwords"
LOGIN_TOKEN_TYPE = "multi_tenant_magic_links"
# sessions.reset: the session must hold a factor proven this recently (PY `passwords_session.reset`).
RECENT_FACTOR_SECONDS = 5 * 60


class TokenKind:
    """The single-use secrets of B2B password resets (core/tokens.py)."""

    RESET = "b2b_password_reset"
    DISCOVERY_RESET = "b2b_discovery_password_reset"
    # The reset email's "log in without password" link: an organization magic link.
    LOGIN = CoreTokenKind.B2B_MAGIC_LINK


# --- the project's rules -----------------------------------------------------------------


def _cross_org(policy: PasswordPolicy) -> bool:
    return bool(getattr(policy, "cross_org_passwords", False))


def _require_cross_org(policy: PasswordPolicy) -> None:
    if not _cross_org(policy):
        raise errors_b2b.CrossOrgPasswordsNotEnabled()


def _password_allowed(organization: Row[Any], member: Row[Any] | None) -> None:
    """`auth_methods: RESTRICTED` without `password` refuses password logins and resets in the
    organization; break-glass Members are exempt (PY `organizations.update`, `auth_methods`)."""
    if member is not None and member.is_breakglass:
        return
    settings = settings_of(organization)
    if settings["auth_methods"] == "RESTRICTED" and "password" not in settings["allowed_auth_methods"]:
        raise errors.OperationRestrictedByOrganizationAuthMethods(
            "This organization's allowed_auth_methods do not include password."
        )


def _expiration(minutes: int | None) -> int:
    if minutes is None:
        return DEFAULT_RESET_MINUTES
    if not MIN_EXPIRATION <= minutes <= MAX_EXPIRATION:
        raise errors.InvalidExpiration(
            f"reset_password_expiration_minutes must be between {MIN_EXPIRATION} and {MAX_EXPIRATION} "
            f"minutes (7 days), not {minutes}."
        )
    return minutes


# --- passwords of Members ----------------------------------------------------------------


def _live(member: Row[Any] | None) -> Row[Any] | None:
    return member if member is not None and member.status != "deleted" else None


async def _members_of_email(ctx: Context, email: str) -> list[Row[Any]]:
    return [m for m in await members_repo.all_by_email(ctx.conn, ctx.project_id, email) if m.status != "deleted"]


async def _owner(ctx: Context, policy: PasswordPolicy, email: str, member: Row[Any] | None) -> Owner | None:
    """Whose password a login of `email` (as `member`, when the organization is known) is
    checked against: the Member's own; with cross-organization passwords and none of its
    own, the address's newest. None: no such account."""
    if member is not None and (member.member_password_id or not _cross_org(policy)):
        return repository.member(member.member_id)
    if not _cross_org(policy):
        return None
    newest: tuple[Any, str] | None = None
    for each in await _members_of_email(ctx, email):
        if not each.member_password_id:
            continue
        row = await passwords.find(ctx, repository.member(each.member_id))
        if row is not None and (newest is None or row.updated_at > newest[0]):
            newest = (row.updated_at, each.member_id)
    return repository.member(newest[1]) if newest is not None else None


async def _check_login(
    ctx: Context, policy: PasswordPolicy, email: str, member: Row[Any] | None, password: str, *, account: str
) -> None:
    """`password` is the account's, else `unauthorized_credentials` (the same for an unknown
    account, which costs a dummy hash). Failures count against `account` and the client's
    address; past the limit either answers 429. A password that must be reset, or one found
    breached now, is refused with `member_reset_password` (and marked so: the route commits
    it); a migrated hash is re-hashed with argon2id."""
    async with passwords.login_guard(ctx, account):
        owner = await _owner(ctx, policy, email, member)
        row = await passwords.verify(ctx, owner, password)
        if row is None or owner is None:
            raise pw_errors.WrongPassword()
    try:
        await passwords.require_usable(ctx, owner, row, password)
    except pw_errors.ResetPassword as exc:
        raise errors_b2b.MemberResetPassword(exc.message) from None


async def _set(ctx: Context, policy: PasswordPolicy, member: Row[Any], password: str) -> Row[Any]:
    """Give the Member this (checked) password, no reset due. With cross-organization
    passwords, every live Member of the address gets it. The Member row as it is now."""
    targets = await _members_of_email(ctx, member.email) if _cross_org(policy) else [member]
    if member.member_id not in {m.member_id for m in targets}:
        targets.append(member)
    for target in targets:
        await passwords.set_password(ctx, repository.member(target.member_id), password, check=False)
    found = await members_repo.find_by_id(ctx.conn, ctx.project_id, member.member_id)
    assert found is not None
    return found


async def _revoke_sessions(ctx: Context, policy: PasswordPolicy, member: Row[Any], *, keep: str | None = None) -> None:
    """A reset revokes the Member's sessions (Stytch: "will revoke all active sessions for the
    Member"), but the session a session reset was made with; with a shared password, the
    sessions of every Member of the address."""
    targets = await _members_of_email(ctx, member.email) if _cross_org(policy) else [member]
    for target in targets:
        await sessions.revoke_for(ctx, member_id=target.member_id, keep=keep)


async def _revoke_all_but_callers(
    ctx: Context, policy: PasswordPolicy, member: Row[Any], session_token: str | None, session_jwt: str | None
) -> tuple[str | None, str | None]:
    """A reset that may pass a session: revoke the Member's sessions but the one passed
    when it is this Member's, and say which session the login then extends (that one's
    token and JWT, or none: a session of another Member is left alone and not extended)."""
    keep = None
    if session_token or session_jwt:
        current = await sessions.find(ctx, "b2b", token=session_token, session_jwt=session_jwt)
        keep = current.session_id if current.member_id == member.member_id else None
    await _revoke_sessions(ctx, policy, member, keep=keep)
    return (session_token, session_jwt) if keep else (None, None)


def _factor(ctx: Context, member: Row[Any]) -> dict[str, Any]:
    return factors.PASSWORD.build(ctx.clock.now())


async def _login(
    ctx: Context,
    organization: Row[Any],
    member: Row[Any],
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    session_token: str | None,
    session_jwt: str | None,
    intermediate_session_token: str | None = None,
) -> dict[str, Any]:
    """The password proved this Member: through the one place every B2B login ends. An
    intermediate session of the same Member and organization passed in is consumed and
    its factors come first."""
    prior = None
    factor = _factor(ctx, member)
    if intermediate_session_token:
        await _check_intermediate(ctx, intermediate_session_token, organization, member)
        ist = await intermediate.redeem(ctx, intermediate_session_token)
        prior = logins.carried_factors(ist, member, factor)
    return await logins.complete_primary(
        ctx,
        organization,
        member,
        factor=factor,
        minutes=minutes,
        custom_claims=custom_claims,
        existing_token=session_token,
        existing_jwt=session_jwt,
        prior_factors=prior,
    )


async def _check_intermediate(ctx: Context, token: str, organization: Row[Any], member: Row[Any]) -> None:
    """An intermediate session the password joins: this Member's (an MFA step), or one that
    proved this Member's address for this organization (its auth methods asked for another
    primary factor: `primary_required`) or in discovery. Any other is refused."""
    ist = await intermediate.peek(ctx, token)
    if ist.member_id is not None or emails.normalize(ist.email or "") != member.email_normalized:
        await logins.check_intermediate(ctx, token, organization, member)
    elif ist.organization_id not in (None, organization.organization_id):
        raise errors.InvalidIntermediateSessionForOrganization(
            "This intermediate session was issued for another organization."
        )


def _session_arguments(session_token: str | None, session_jwt: str | None, minutes: int | None) -> None:
    sessions.check_duration(minutes)
    if session_token and session_jwt:
        raise errors.TooManySessionArguments()


async def _org_member(ctx: Context, organization_ref: str, email: str) -> tuple[Row[Any], Row[Any] | None]:
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, organization.organization_id, email)
    return organization, _live(member)


def _account(policy: PasswordPolicy, organization: Row[Any], email: str) -> str:
    """The key wrong passwords count against, the same whether or not the Member exists: the
    organization and the address, or (cross-organization passwords, where one password opens
    every organization) the address alone."""
    address = emails.normalize(email)
    return address if _cross_org(policy) else f"{organization.organization_id}/{address}"


# --- endpoints ---------------------------------------------------------------------------


async def authenticate(
    ctx: Context,
    organization_ref: str,
    email: str,
    password: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    intermediate_session_token: str | None,
) -> dict[str, Any]:
    """Log a Member in with its email and password (stytch.com/docs/b2b/api/passwords-authenticate)."""
    _session_arguments(session_token, session_jwt, minutes)
    email = emails.validate(email)
    organization, member = await _org_member(ctx, organization_ref, email)
    _password_allowed(organization, member)
    policy = await passwords.policy(ctx)
    await _check_login(ctx, policy, email, member, password, account=_account(policy, organization, email))
    assert member is not None  # an unknown Member has no password to match
    member = await _activate(ctx, member)
    result = await _login(
        ctx,
        organization,
        member,
        minutes=minutes,
        custom_claims=custom_claims,
        session_token=session_token,
        session_jwt=session_jwt,
        intermediate_session_token=intermediate_session_token,
    )
    return {**result, "organization_id": organization.organization_id, "member_device": None}


async def _activate(ctx: Context, member: Row[Any]) -> Row[Any]:
    """A pending or invited Member that logs in becomes active. A password alone does not
    prove the address, so `email_address_verified` stays as it is."""
    if member.status == "active":
        return member
    return await members_repo.update(
        ctx.conn, ctx.project_id, member.member_id, status="active", updated_at=ctx.clock.now()
    )


async def strength_check(ctx: Context, password: str, email: str | None) -> dict[str, Any]:
    """How strong a password is under the project's policy
    (stytch.com/docs/b2b/api/strength-check): the B2B answer names its feedback by policy."""
    verdict = await passwords.evaluate(ctx, password, email=email)
    return {
        "valid_password": verdict.valid,
        "score": verdict.score,
        "breached_password": verdict.breached,
        "strength_policy": verdict.policy,
        "breach_detection_on_create": verdict.breach_detection_on_create,
        "luds_feedback": verdict.luds.json() if verdict.luds is not None else None,
        "zxcvbn_feedback": (
            {"warning": verdict.warning, "suggestions": list(verdict.suggestions)}
            if verdict.policy == "zxcvbn"
            else None
        ),
    }


async def migrate(
    ctx: Context,
    organization_ref: str,
    email: str,
    hash_value: str,
    hash_type: str,
    *,
    config: dict[str, Any] | None,
    name: str | None,
    trusted_metadata: dict[str, Any] | None,
    untrusted_metadata: dict[str, Any] | None,
    roles: list[str] | None,
    mfa_phone_number: str | None,
    set_phone_number_verified: bool | None,
    external_id: str | None,
) -> dict[str, Any]:
    """Bring a Member's password hash from another system (stytch.com/docs/b2b/api/passwords-migrate):
    the Member is created if the organization has none with this address; either way it is
    active and its email verified, as Stytch's migrate marks it. Its hash is checked as
    `hash_type` at its first login and then re-hashed with argon2id."""
    email = emails.validate(email)
    passwords.check_migrated(hash_type, hash_value, config)
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    await check_role_ids(ctx, organization, roles)
    member = _live(await members_repo.find_by_email(ctx.conn, ctx.project_id, organization.organization_id, email))
    created = member is None
    if member is None:
        member = await members_service.create_member(
            ctx,
            organization,
            email=email,
            status="active",
            email_verified=True,
            name=name,
            roles=roles,
            external_id=external_id,
            trusted_metadata=trusted_metadata,
            untrusted_metadata=untrusted_metadata,
            mfa_phone_number=mfa_phone_number,
        )
    else:
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if trusted_metadata is not None:
            changes["trusted_metadata"] = trusted_metadata
        if untrusted_metadata is not None:
            changes["untrusted_metadata"] = untrusted_metadata
        if roles is not None:
            changes["roles"] = list(dict.fromkeys(roles))
        if external_id is not None and external_id != member.external_id:
            if await members_repo.find(ctx.conn, ctx.project_id, organization.organization_id, external_id):
                raise errors.DuplicateMemberExternalId()
            changes["external_id"] = external_id
        if mfa_phone_number is not None:
            changes.update(members_service.mfa_phone(member, mfa_phone_number))
        if changes:
            member = await members_repo.update(
                ctx.conn, ctx.project_id, member.member_id, **changes, updated_at=ctx.clock.now()
            )
        # "This endpoint marks the Member's email address as verified" (PY `passwords.migrate`).
        member = await members_service.activate(ctx, member)
    if set_phone_number_verified and member.mfa_phone_number and not member.mfa_phone_number_verified:
        member = await members_repo.update(
            ctx.conn, ctx.project_id, member.member_id, mfa_phone_number_verified=True, updated_at=ctx.clock.now()
        )
    await passwords.store_migrated(ctx, repository.member(member.member_id), hash_type, hash_value, config)
    member = await members_repo.find_by_id(ctx.conn, ctx.project_id, member.member_id)
    assert member is not None
    return {
        "member_id": member.member_id,
        "member_created": created,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
    }


async def _reset_link(ctx: Context, requested: str | None, **params: str) -> str:
    url = await redirect_urls.resolve(ctx.conn, ctx.project_id, requested, RedirectType.RESET_PASSWORD)
    return email_links.app_url(url, **params, stytch_token_type=RESET_TOKEN_TYPE)


async def reset_start(
    ctx: Context,
    organization_ref: str,
    email: str,
    *,
    redirect_url: str | None,
    expiration_minutes: int | None,
    code_challenge: str | None,
    login_redirect_url: str | None,
) -> dict[str, Any]:
    """Email a Member a link to set a new password (stytch.com/docs/b2b/api/email-reset-start).
    The Member must exist: a password is never the way a Member is created."""
    email = emails.validate(email)
    minutes = _expiration(expiration_minutes)
    organization, member = await _org_member(ctx, organization_ref, email)
    if member is None:
        raise errors.MemberNotFound()
    _password_allowed(organization, member)
    link_url = await _reset_link(ctx, redirect_url, slug=organization.slug)
    login_url = await redirect_urls.resolve(ctx.conn, ctx.project_id, login_redirect_url, RedirectType.LOGIN)
    token, _ = await tokens.issue(
        ctx,
        TokenKind.RESET,
        minutes=minutes,
        email=member.email,
        organization_id=organization.organization_id,
        member_id=member.member_id,
        email_id=member.email_id,
        pkce_challenge=code_challenge,
        link_url=link_url,
    )
    # "Log in without password": an organization login link, as magic_links.email.login_or_signup
    # sends, redeemed by magic_links.authenticate (PY `passwords_email.reset_start`, login_redirect_url).
    login_link_url = email_links.app_url(login_url, slug=organization.slug, stytch_token_type=LOGIN_TOKEN_TYPE)
    login_token, _ = await tokens.issue(
        ctx,
        TokenKind.LOGIN,
        minutes=minutes,
        email=member.email,
        organization_id=organization.organization_id,
        member_id=member.member_id,
        email_id=member.email_id,
        data={"flow": "login"},
        link_url=login_link_url,
    )
    await outbox.enqueue(
        ctx,
        messages_b2b.RESET,
        to=member.email,
        link=await email_links.emailed_link(ctx, link_url, token),
        login_link=await email_links.emailed_link(ctx, login_link_url, login_token),
        expires_minutes=minutes,
        organization_name=organization.name,
    )
    return {
        "member_id": member.member_id,
        "member_email_id": member.email_id,
        "member": await members_service.member_view(ctx, member, organization),
    }


async def _redeem_reset(ctx: Context, token: str, kind: str, verifier: str | None) -> Row[Any]:
    async with ratelimit.attempts(ctx, token):
        row = await tokens.redeem(
            ctx,
            token,
            (kind,),
            used=errors_b2b.UnableToAuthPasswordResetToken,
            unknown=errors_b2b.PasswordResetTokenNotFound,
            noun="password reset link",
        )
        # A failed check raises, which rolls the redemption back: the link stays usable.
        tokens.check_pkce(row, verifier)
    return row


async def reset(
    ctx: Context,
    token: str,
    password: str,
    *,
    code_verifier: str | None,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    intermediate_session_token: str | None,
) -> dict[str, Any]:
    """Set the new password a reset link allows, and log the Member in
    (stytch.com/docs/b2b/api/email-reset). Every other session of the Member is revoked.
    A weak password leaves the link usable."""
    _session_arguments(session_token, session_jwt, minutes)
    row = await _redeem_reset(ctx, token, TokenKind.RESET, code_verifier)
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, row.organization_id)
    member = await _reset_member(ctx, row)
    policy = await passwords.policy(ctx)
    await passwords.require_strong(ctx, password, email=member.email)
    member = await _set(ctx, policy, member, password)
    # The link proved the address: the Member is active and its email verified.
    member = await members_service.activate(ctx, member)
    session_token, session_jwt = await _revoke_all_but_callers(ctx, policy, member, session_token, session_jwt)
    result = await _login(
        ctx,
        organization,
        member,
        minutes=minutes,
        custom_claims=custom_claims,
        session_token=session_token,
        session_jwt=session_jwt,
        intermediate_session_token=intermediate_session_token,
    )
    return {
        **result,
        "member_email_id": member.email_id,
        "organization_id": organization.organization_id,
        "member_device": None,
    }


async def _reset_member(ctx: Context, row: Row[Any]) -> Row[Any]:
    """The Member a reset link was sent to, if the link still stands for it: deleting the
    Member, or changing its address, revokes the link."""
    member = await members_repo.find_by_id(ctx.conn, ctx.project_id, row.member_id)
    if member is None or member.status == "deleted":
        raise errors_b2b.UnableToAuthPasswordResetToken(
            "This password reset link was revoked: its Member was deleted after it was sent."
        )
    if member.email_normalized != emails.normalize(row.email):
        raise errors_b2b.UnableToAuthPasswordResetToken(
            "This password reset link was revoked: its Member's email address changed after it was sent."
        )
    return member


async def require_reset(
    ctx: Context, email: str, *, organization_ref: str | None, member_ref: str | None
) -> dict[str, Any]:
    """Make the address's password unusable until it is reset by email
    (stytch.com/docs/b2b/api/passwords-require-reset-by-email). With an organization, its
    Member's password; without one (cross-organization passwords), the address's in every
    organization."""
    email = emails.validate(email)
    policy = await passwords.policy(ctx)
    if organization_ref is None:
        _require_cross_org(policy)
        await _require_resets(ctx, [m.member_id for m in await _members_of_email(ctx, email)])
        return {"member_id": None, "member": None, "organization": None}
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    if member_ref:
        member = await members_service.get_existing(ctx, organization.organization_id, member_ref)
        if emails.normalize(member.email) != emails.normalize(email):
            raise errors.MemberNotFound("The Member's email address is not the one given.")
    else:
        member = await members_service.get_existing_by_email(ctx, organization.organization_id, email)
    await guards_b2b.require_reset(ctx, organization.organization_id, member.member_id)
    ids = [member.member_id]
    if _cross_org(policy):
        ids = [m.member_id for m in await _members_of_email(ctx, email)]
    await _require_resets(ctx, ids)
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
    }


async def _require_resets(ctx: Context, member_ids: list[str]) -> None:
    """Mark these Members' passwords as due for a reset; `member_password_not_found` when
    none of them has one."""
    marked = [await passwords.require_reset(ctx, repository.member(member_id)) for member_id in member_ids]
    if not any(marked):
        raise errors_b2b.MemberPasswordNotFound()


def _recent(row: Any, now: datetime) -> bool:
    """The session holds a factor proven in the last five minutes."""
    for factor in row.authentication_factors or []:
        stamp = factor.get("last_authenticated_at") if isinstance(factor, dict) else None
        if not stamp:
            continue
        try:
            when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            continue
        if (now - when).total_seconds() <= RECENT_FACTOR_SECONDS:
            return True
    return False


async def session_reset(
    ctx: Context,
    organization_ref: str,
    password: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """Set a new password for the Member of a live session that proved a factor in the last
    five minutes (stytch.com/docs/b2b/api/passwords-session-reset). Every other session of
    the Member is revoked; this one goes on."""
    sessions.check_duration(minutes)
    if not (session_token or session_jwt):
        raise errors.SessionNotFound("Pass the session_token or session_jwt of the Member's session.")
    if session_token and session_jwt:
        raise errors.TooManySessionArguments()
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    current = await sessions.find(ctx, "b2b", token=session_token, session_jwt=session_jwt)
    if current.organization_id != organization.organization_id:
        raise errors.SessionNotFound("The session does not belong to this organization.")
    # Someone impersonating a Member may act as it, not take over its password.
    sessions.refuse_if_impersonated(current)
    if not _recent(current, ctx.clock.now()):
        raise errors_b2b.SessionTooOldToResetPassword()
    member = await members_service.get_existing(ctx, organization.organization_id, current.member_id or "")
    _password_allowed(organization, member)
    policy = await passwords.policy(ctx)
    await passwords.require_strong(ctx, password, email=member.email)
    member = await _set(ctx, policy, member, password)
    await _revoke_sessions(ctx, policy, member, keep=current.session_id)
    result = await logins.complete_primary(
        ctx,
        organization,
        member,
        factor=_factor(ctx, member),
        minutes=minutes,
        custom_claims=custom_claims,
        existing_token=session_token,
        existing_jwt=session_jwt,
    )
    return {**result, "member_device": None}


async def existing_password_reset(
    ctx: Context,
    organization_ref: str,
    email: str,
    existing_password: str,
    new_password: str,
    *,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """Change a password by giving the current one (stytch.com/docs/b2b/api/existing-reset),
    and log the Member in. Every session of the Member is revoked (but the one passed in)."""
    _session_arguments(session_token, session_jwt, minutes)
    email = emails.validate(email)
    organization, member = await _org_member(ctx, organization_ref, email)
    _password_allowed(organization, member)
    policy = await passwords.policy(ctx)
    await _check_login(ctx, policy, email, member, existing_password, account=_account(policy, organization, email))
    assert member is not None
    await passwords.require_strong(ctx, new_password, email=member.email)
    member = await _set(ctx, policy, member, new_password)
    member = await _activate(ctx, member)
    session_token, session_jwt = await _revoke_all_but_callers(ctx, policy, member, session_token, session_jwt)
    result = await _login(
        ctx,
        organization,
        member,
        minutes=minutes,
        custom_claims=custom_claims,
        session_token=session_token,
        session_jwt=session_jwt,
    )
    return {**result, "member_device": None}


async def _discovery_answer(ctx: Context, email: str) -> dict[str, Any]:
    ist, ist_row = await intermediate.issue(ctx, email, factor_type="password")
    return {
        "intermediate_session_token": ist,
        "intermediate_session_token_expires_at": rfc3339(ist_row.expires_at),
        "email_address": email,
        "discovered_organizations": await discovery.discovered_organizations(ctx, email, include_eligible=True),
    }


async def discovery_authenticate(ctx: Context, email: str, password: str) -> dict[str, Any]:
    """Check a cross-organization password and answer as a discovery login does: an
    intermediate session and the organizations the address may enter
    (stytch.com/docs/b2b/api/passwords-discovery-authenticate)."""
    email = emails.validate(email)
    policy = await passwords.policy(ctx)
    _require_cross_org(policy)
    await _check_login(ctx, policy, email, None, password, account=emails.normalize(email))
    return await _discovery_answer(ctx, email)


async def discovery_reset_start(
    ctx: Context,
    email: str,
    *,
    redirect_url: str | None,
    discovery_redirect_url: str | None,
    expiration_minutes: int | None,
    pkce_code_challenge: str | None,
) -> None:
    """Email a link to set the address's cross-organization password
    (stytch.com/docs/b2b/api/passwords-discovery-reset-start). An address with no Member
    gets nothing, and the answer is the same."""
    email = emails.validate(email)
    minutes = _expiration(expiration_minutes)
    policy = await passwords.policy(ctx)
    _require_cross_org(policy)
    link_url = await _reset_link(ctx, redirect_url)
    if discovery_redirect_url:
        await redirect_urls.resolve(ctx.conn, ctx.project_id, discovery_redirect_url, RedirectType.DISCOVERY)
    if not await _members_of_email(ctx, email):
        return
    token, _ = await tokens.issue(
        ctx,
        TokenKind.DISCOVERY_RESET,
        minutes=minutes,
        email=email,
        pkce_challenge=pkce_code_challenge,
        link_url=link_url,
    )
    await outbox.enqueue(
        ctx,
        messages_b2b.DISCOVERY_RESET,
        to=email,
        link=await email_links.emailed_link(ctx, link_url, token),
        expires_minutes=minutes,
    )


async def discovery_reset(ctx: Context, token: str, password: str, *, pkce_code_verifier: str | None) -> dict[str, Any]:
    """Set the address's cross-organization password from a discovery reset link and answer
    as a discovery login does (stytch.com/docs/b2b/api/passwords-discovery-reset). The
    sessions of every Member of the address are revoked."""
    policy = await passwords.policy(ctx)
    _require_cross_org(policy)
    row = await _redeem_reset(ctx, token, TokenKind.DISCOVERY_RESET, pkce_code_verifier)
    email = row.email
    members = await _members_of_email(ctx, email)
    if not members:
        raise errors_b2b.UnableToAuthPasswordResetToken(
            "This password reset link was revoked: the address has no Member any more."
        )
    await passwords.require_strong(ctx, password, email=email)
    member = await _set(ctx, policy, members[0], password)
    await _revoke_sessions(ctx, policy, member)
    return await _discovery_answer(ctx, email)


async def delete_password(ctx: Context, organization_ref: str, password_id: str) -> dict[str, Any]:
    """Remove a Member's password (stytch.com/docs/b2b/api/delete-member-password): it can no
    longer log in with one until it sets another by a reset. Its sessions live on."""
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    stored = await passwords.get(ctx, password_id)
    member = None
    if stored is not None and stored.member_id:
        member = _live(await members_repo.find_by_id(ctx.conn, ctx.project_id, stored.member_id))
    if stored is None or member is None or member.organization_id != organization.organization_id:
        raise errors_b2b.MemberPasswordNotFound()
    await guards_b2b.delete_password(ctx, organization.organization_id, member.member_id)
    await passwords.delete(ctx, repository.member(member.member_id))
    member = await members_repo.find_by_id(ctx.conn, ctx.project_id, member.member_id)
    assert member is not None
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
    }
