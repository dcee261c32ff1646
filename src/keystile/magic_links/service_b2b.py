"""B2B email magic links: discovery, organization login/signup and invites, and their
authentication (stytch.com/docs/b2b/api/email-magic-links, reference §3, §4, §6).

Every email is written to the outbox in the same transaction as the token it carries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors
from keystile.core import email_links, emails, outbox, ratelimit, redirect_urls, sandbox, tokens
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.core.redirect_urls import RedirectType
from keystile.core.tokens import TokenKind
from keystile.discovery import service as discovery
from keystile.magic_links import messages
from keystile.magic_links import sandbox as sandbox_values
from keystile.members import repository as members_repo
from keystile.members import sandbox as members_sandbox
from keystile.members import service as members_service
from keystile.organizations import repository as orgs_repo
from keystile.organizations import service as orgs_service
from keystile.organizations.serializers import organization_json
from keystile.sessions import intermediate, logins
from keystile.sessions import service as sessions

MIN_EXPIRATION, MAX_EXPIRATION = 5, 10_080
DEFAULT_LINK_MINUTES = 60
DEFAULT_INVITE_MINUTES = 10_080
ORGANIZATION_TOKEN_TYPE = "multi_tenant_magic_links"
DISCOVERY_TOKEN_TYPE = "discovery"


def expiration(minutes: int | None, default: int, field: str) -> int:
    if minutes is None:
        return default
    if not MIN_EXPIRATION <= minutes <= MAX_EXPIRATION:
        raise errors.InvalidExpiration(
            f"{field} must be between {MIN_EXPIRATION} and {MAX_EXPIRATION} minutes (7 days), not {minutes}."
        )
    return minutes


async def _redirect(ctx: Context, requested: str | None, kind: RedirectType) -> str:
    return await redirect_urls.resolve(ctx.conn, ctx.project_id, requested, kind)


def _organization_link(url: str, org: Row[Any]) -> str:
    """Organization flows carry the slug; discovery links do not (reference §4)."""
    return email_links.app_url(url, slug=org.slug, stytch_token_type=ORGANIZATION_TOKEN_TYPE)


async def send_discovery_email(
    ctx: Context,
    email: str,
    *,
    redirect_url: str | None,
    pkce_code_challenge: str | None,
    expiration_minutes: int | None,
) -> None:
    """Email a discovery magic link (stytch.com/docs/b2b/api/send-discovery-email)."""
    email = emails.validate(email)
    minutes = expiration(expiration_minutes, DEFAULT_LINK_MINUTES, "discovery_expiration_minutes")
    url = await _redirect(ctx, redirect_url, RedirectType.DISCOVERY)
    if sandbox.consult(ctx, sandbox_values.DISCOVERY_SEND, email_address=email):
        return  # a 200, and nothing is sent
    link_url = email_links.app_url(url, stytch_token_type=DISCOVERY_TOKEN_TYPE)
    token, _ = await tokens.issue(
        ctx,
        TokenKind.DISCOVERY_MAGIC_LINK,
        minutes=minutes,
        email=email,
        pkce_challenge=pkce_code_challenge,
        link_url=link_url,
    )
    link = await email_links.emailed_link(ctx, link_url, token)
    await outbox.enqueue(ctx, messages.DISCOVERY, to=email, link=link, expires_minutes=minutes)


async def authenticate_discovery(ctx: Context, token: str, *, pkce_code_verifier: str | None) -> dict[str, Any]:
    """Trade a discovery magic link for an intermediate session and the organizations its
    email may enter (stytch.com/docs/b2b/api/authenticate-discovery-magic-link).

    The sandbox token proves sandbox@stytch.com, which finds the sandbox organization."""
    if sandbox.consult(ctx, sandbox_values.DISCOVERY_AUTHENTICATE, discovery_magic_links_token=token):
        _, member = await members_sandbox.member(ctx)
        email = member.email
    else:
        async with ratelimit.attempts(ctx, token):
            row = await tokens.redeem(
                ctx,
                token,
                (TokenKind.DISCOVERY_MAGIC_LINK,),
                used=errors.UnableToAuthMagicLink,
                unknown=errors.MagicLinkNotFound,
                noun="magic link",
            )
            # A failed check raises, which rolls the redemption back: the link stays usable.
            tokens.check_pkce(row, pkce_code_verifier)
        email = row.email
    ist, ist_row = await intermediate.issue(ctx, email)
    return {
        "intermediate_session_token": ist,
        "intermediate_session_token_expires_at": rfc3339(ist_row.expires_at),
        "email_address": email,
        "discovered_organizations": await discovery.discovered_organizations(ctx, email, include_eligible=True),
    }


async def login_or_signup(
    ctx: Context,
    organization_ref: str,
    email: str,
    *,
    login_redirect_url: str | None,
    signup_redirect_url: str | None,
    pkce_code_challenge: str | None,
    login_expiration_minutes: int | None,
    signup_expiration_minutes: int | None,
) -> dict[str, Any]:
    """Email an active member a login link, anyone else a signup link
    (stytch.com/docs/b2b/api/send-login-signup-email).

    A new member is created `pending` only where the organization provisions members just
    in time for the email's domain. Otherwise the request is refused with 403
    `email_jit_provisioning_not_allowed`: the request is valid, the organization's policy
    forbids it, like an invite the organization does not allow."""
    email = emails.validate(email)
    login_minutes = expiration(login_expiration_minutes, DEFAULT_LINK_MINUTES, "login_expiration_minutes")
    signup_minutes = expiration(signup_expiration_minutes, DEFAULT_LINK_MINUTES, "signup_expiration_minutes")
    if sandbox.consult(
        ctx, sandbox_values.B2B_LOGIN_OR_SIGNUP, email_address=email, organization_id=organization_ref
    ):  # a 200, and nothing is sent
        return await _sandbox_member(ctx, member_created=False)
    org = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
    if member is not None and member.status == "deleted":
        raise errors.MemberDeleted()
    if member is None and not discovery.jit_allowed(org, email):
        raise errors.EmailJITProvisioningNotAllowed()
    if member is None:
        await orgs_service.check_domain_claim(ctx, email, org)
    if discovery.primary_required(org, member) is not None:
        raise errors.OperationRestrictedByOrganizationAuthMethods(
            "This organization's allowed_auth_methods do not include magic_link: no login link is sent."
        )
    login = member is not None and member.status == "active"
    # A URL the caller names is checked against the allowlist even when the other link is sent.
    login_url = await _redirect(ctx, login_redirect_url, RedirectType.LOGIN) if login or login_redirect_url else ""
    signup_url = (
        await _redirect(ctx, signup_redirect_url, RedirectType.SIGNUP) if not login or signup_redirect_url else ""
    )
    created = False
    if member is None:
        member = await _create_member(ctx, org, email, status="pending")
        created = member is not None
        if member is None:
            member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
            if member is None:  # created and deleted again in between; the caller may retry
                raise errors.MemberNotFound()
    minutes = login_minutes if login else signup_minutes
    link_url = _organization_link(login_url if login else signup_url, org)
    token, _ = await tokens.issue(
        ctx,
        TokenKind.B2B_MAGIC_LINK,
        minutes=minutes,
        email=member.email,
        organization_id=org.organization_id,
        member_id=member.member_id,
        email_id=member.email_id,
        pkce_challenge=pkce_code_challenge,
        data={"flow": "login" if login else "signup"},
        link_url=link_url,
    )
    await outbox.enqueue(
        ctx,
        messages.LOGIN if login else messages.SIGNUP,
        to=member.email,
        link=await email_links.emailed_link(ctx, link_url, token),
        expires_minutes=minutes,
        organization_name=org.name,
    )
    return {
        "member_id": member.member_id,
        "member_created": created,
        "member": await members_service.member_view(ctx, member, org),
        "organization": organization_json(org),
    }


async def _sandbox_member(ctx: Context, **extra: Any) -> dict[str, Any]:
    """The answer of a send endpoint to its sandbox value: the sandbox member, nothing sent."""
    org, member = await members_sandbox.member(ctx)
    return {
        "member_id": member.member_id,
        **extra,
        "member": await members_service.member_view(ctx, member, org),
        "organization": organization_json(org),
    }


async def _create_member(ctx: Context, org: Row[Any], email: str, **fields: Any) -> Row[Any] | None:
    """Create a member, or None when a concurrent request created the same one first.

    The savepoint keeps the request's transaction usable after the unique-constraint error
    PostgreSQL raises for the loser of such a race."""
    try:
        async with ctx.conn.begin_nested():
            return await members_service.create_member(ctx, org, email=email, **fields)
    except (IntegrityError, errors.DuplicateMemberEmail):
        return None


def _invites_allowed(org: Row[Any], email: str) -> None:
    settings = orgs_repo.settings_of(org)
    policy = settings["email_invites"]
    if policy == "NOT_ALLOWED":
        raise errors.InvalidEmailForInvites("This organization does not allow email invites.")
    if policy == "RESTRICTED" and emails.domain(email) not in {d.lower() for d in settings["email_allowed_domains"]}:
        raise errors.InvalidEmailForInvites(
            f"This organization only allows invites to {', '.join(settings['email_allowed_domains'])} addresses."
        )


async def invite(
    ctx: Context,
    organization_ref: str,
    email: str,
    *,
    redirect_url: str | None,
    invited_by_member_id: str | None,
    name: str | None,
    trusted_metadata: dict[str, Any] | None,
    untrusted_metadata: dict[str, Any] | None,
    roles: list[str] | None,
    expiration_minutes: int | None,
) -> dict[str, Any]:
    """Invite a member by email (stytch.com/docs/b2b/api/send-invite-email): new and pending
    members become `invited`; an active member cannot be invited."""
    email = emails.validate(email)
    minutes = expiration(expiration_minutes, DEFAULT_INVITE_MINUTES, "invite_expiration_minutes")
    if sandbox.consult(ctx, sandbox_values.B2B_INVITE, email_address=email, organization_id=organization_ref):
        return await _sandbox_member(ctx)  # a 200, and nothing is sent
    org = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    _invites_allowed(org, email)
    inviter = None
    if invited_by_member_id:
        inviter = await members_service.get_existing(ctx, org.organization_id, invited_by_member_id)
    url = await _redirect(ctx, redirect_url, RedirectType.INVITE)
    fresh = False
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
    if member is None:
        member = await _create_member(
            ctx,
            org,
            email,
            status="invited",
            name=name,
            roles=roles,
            trusted_metadata=trusted_metadata,
            untrusted_metadata=untrusted_metadata,
        )
        if member is None:  # a concurrent request created it: update that one below
            member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
            if member is None:
                raise errors.MemberNotFound()
        else:
            fresh = True
    if member.status == "active":
        raise errors.MemberAlreadyActive()
    if not fresh:
        # pending, invited (a fresh invite) or deleted (invited back).
        changes: dict[str, Any] = {"status": "invited", "updated_at": ctx.clock.now()}
        if name is not None:
            changes["name"] = name
        if roles is not None:
            changes["roles"] = list(dict.fromkeys(roles))
        if trusted_metadata is not None:
            changes["trusted_metadata"] = trusted_metadata
        if untrusted_metadata is not None:
            changes["untrusted_metadata"] = untrusted_metadata
        member = await members_repo.update(ctx.conn, ctx.project_id, member.member_id, **changes)
    token, _ = await tokens.issue(
        ctx,
        TokenKind.B2B_MAGIC_LINK,
        minutes=minutes,
        email=member.email,
        organization_id=org.organization_id,
        member_id=member.member_id,
        email_id=member.email_id,
        data={"flow": "invite"},
        link_url=_organization_link(url, org),
    )
    await outbox.enqueue(
        ctx,
        messages.INVITE,
        to=member.email,
        link=await email_links.emailed_link(ctx, _organization_link(url, org), token),
        expires_minutes=minutes,
        organization_name=org.name,
        inviter=(inviter.name or inviter.email) if inviter else None,
    )
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, org),
        "organization": organization_json(org),
    }


async def authenticate(
    ctx: Context,
    token: str,
    *,
    pkce_code_verifier: str | None,
    session_token: str | None,
    session_jwt: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """Authenticate an organization login, signup or invite link
    (stytch.com/docs/b2b/api/authenticate-magic-link). Discovery links are not accepted
    here: they have their own endpoint, so one is `magic_link_not_found`."""
    sessions.check_duration(session_duration_minutes)
    if session_token and session_jwt:
        raise errors.TooManySessionArguments()
    if sandbox.consult(ctx, sandbox_values.B2B_AUTHENTICATE, magic_links_token=token):
        # The sandbox token logs the sandbox member into the sandbox organization.
        org, member = await members_sandbox.member(ctx)
    else:
        async with ratelimit.attempts(ctx, token):
            row = await tokens.redeem(
                ctx,
                token,
                (TokenKind.B2B_MAGIC_LINK,),
                used=errors.UnableToAuthMagicLink,
                unknown=errors.MagicLinkNotFound,
                noun="magic link",
            )
            tokens.check_pkce(row, pkce_code_verifier)
        org = await orgs_repo.get(ctx.conn, ctx.project_id, row.organization_id)
        found = await members_repo.find(ctx.conn, ctx.project_id, org.organization_id, row.member_id)
        if members_service.is_email_update(row):  # start_email_update: the new address is proven
            found = await members_service.complete_email_update(ctx, found, row)
        # Deleting a member revokes its invites and links; so does changing its email.
        if found is None or found.status == "deleted":
            raise errors.UnableToAuthMagicLink("This magic link was revoked: its Member was deleted after it was sent.")
        if found.email_normalized != emails.normalize(row.email):
            raise errors.UnableToAuthMagicLink(
                "This magic link was revoked: its Member's email address changed after it was sent."
            )
        member = found
    required = discovery.primary_required(org, member)
    if required is not None:
        # The email is proven, but the organization wants another primary method first: an
        # intermediate session carries the proof there (PY `magic_links.authenticate`).
        ist, ist_row = await intermediate.issue(ctx, member.email, organization_id=org.organization_id)
        return {
            "member_id": member.member_id,
            "member": await members_service.member_view(ctx, member, org),
            "organization": organization_json(org),
            "organization_id": org.organization_id,
            "method_id": member.email_id,
            "reset_sessions": False,
            "session_token": "",
            "session_jwt": "",
            "member_session": None,
            "member_authenticated": False,
            "intermediate_session_token": ist,
            "intermediate_session_token_expires_at": rfc3339(ist_row.expires_at),
            "mfa_required": None,
            "primary_required": required,
        }
    member = await members_service.activate(ctx, member)
    fields = await logins.complete_primary(
        ctx,
        org,
        member,
        factor=sessions.email_factor(ctx.clock.now(), member.email_id, member.email),
        minutes=session_duration_minutes,
        custom_claims=session_custom_claims,
        existing_token=session_token,
        existing_jwt=session_jwt,
    )
    return {
        **fields,
        "organization_id": org.organization_id,
        "method_id": member.email_id,
        "reset_sessions": False,
    }
