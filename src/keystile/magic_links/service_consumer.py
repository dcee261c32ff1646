"""Consumer email magic links: login-or-create, send, invite, embeddable links and their
authentication (stytch.com/docs/api/log-in-or-create-user-by-email and neighbours).

Every link is a CONSUMER_MAGIC_LINK token whose `data.type` says which flow issued it
(login, signup, invite or embedded); its email goes to the outbox in the same
transaction as the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import email_links, ids, outbox, ratelimit, redirect_urls, sandbox, tokens
from keystile.core import emails as email_rules
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.core.redirect_urls import RedirectType
from keystile.core.tokens import TokenKind
from keystile.magic_links import factors, messages
from keystile.magic_links import sandbox as sandbox_values
from keystile.sessions import sandbox as sessions_sandbox
from keystile.sessions import service as sessions
from keystile.sessions.repository import SessionRow
from keystile.users import repository as users_repo
from keystile.users import sandbox as users_sandbox
from keystile.users import service as users

MIN_LINK_MINUTES, MAX_LINK_MINUTES = 5, 10_080
LOGIN_MINUTES = 60
SIGNUP_MINUTES = 10_080
INVITE_MINUTES = 60
EMBEDDED_MINUTES = 60
# A new email attached to an existing user by `send` must be proven this fast.
ATTACH_MINUTES = 5
TOKEN_TYPE = "magic_links"
KINDS = (TokenKind.CONSUMER_MAGIC_LINK,)


def link_minutes(value: int | None, default: int) -> int:
    if value is None:
        return default
    if not MIN_LINK_MINUTES <= value <= MAX_LINK_MINUTES:
        raise errors.InvalidExpiration()
    return value


def _attributes(attributes: dict[str, Any] | None) -> dict[str, str]:
    attributes = attributes or {}
    return {
        "ip_address": str(attributes.get("ip_address") or ""),
        "user_agent": str(attributes.get("user_agent") or ""),
    }


async def _email_link(
    ctx: Context,
    *,
    flow: str,
    to: str,
    user_id: str,
    email_id: str,
    url: str,
    minutes: int,
    pkce_challenge: str | None = None,
    attributes: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Issue one link of `flow` (login, signup, invite) and queue its email."""
    link_url = email_links.app_url(url, stytch_token_type=TOKEN_TYPE)
    token, _ = await tokens.issue(
        ctx,
        TokenKind.CONSUMER_MAGIC_LINK,
        minutes=minutes,
        email=email_rules.normalize(to),
        user_id=user_id,
        email_id=email_id,
        pkce_challenge=pkce_challenge,
        data={"type": flow, "attributes": _attributes(attributes), **(extra or {})},
        link_url=link_url,
    )
    link = await email_links.emailed_link(ctx, link_url, token)
    await outbox.enqueue(ctx, messages.CONSUMER[flow], to=to, link=link, expires_minutes=minutes)


@dataclass
class LinkRequest:
    """The redirect URLs and lifetimes of a login/signup email, checked before any write."""

    login_url: str
    signup_url: str
    login_minutes: int
    signup_minutes: int


async def _link_request(
    ctx: Context,
    *,
    login_url: str | None,
    signup_url: str | None,
    login_minutes: int | None,
    signup_minutes: int | None,
) -> LinkRequest:
    return LinkRequest(
        login_url=await redirect_urls.resolve(ctx.conn, ctx.project_id, login_url, RedirectType.LOGIN),
        signup_url=await redirect_urls.resolve(ctx.conn, ctx.project_id, signup_url, RedirectType.SIGNUP),
        login_minutes=link_minutes(login_minutes, LOGIN_MINUTES),
        signup_minutes=link_minutes(signup_minutes, SIGNUP_MINUTES),
    )


async def _login_or_signup_link(
    ctx: Context, req: LinkRequest, user: Row[Any], email: Row[Any], to: str, **kwargs: Any
) -> None:
    """A pending user gets the signup link, an active one the login link."""
    if user.status == "active":
        await _email_link(
            ctx,
            flow="login",
            to=to,
            user_id=user.user_id,
            email_id=email.email_id,
            url=req.login_url,
            minutes=req.login_minutes,
            **kwargs,
        )
    else:
        await _email_link(
            ctx,
            flow="signup",
            to=to,
            user_id=user.user_id,
            email_id=email.email_id,
            url=req.signup_url,
            minutes=req.signup_minutes,
            **kwargs,
        )


async def login_or_create(
    ctx: Context,
    email: str,
    *,
    login_url: str | None = None,
    signup_url: str | None = None,
    login_minutes: int | None = None,
    signup_minutes: int | None = None,
    create_user_as_pending: bool | None = None,
    pkce_challenge: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> tuple[Row[Any], Row[Any], bool]:
    """A new or pending user gets a signup link, an active user a login link."""
    email = email_rules.validate(email)
    req = await _link_request(
        ctx, login_url=login_url, signup_url=signup_url, login_minutes=login_minutes, signup_minutes=signup_minutes
    )
    if sandbox.consult(ctx, sandbox_values.LOGIN_OR_CREATE, email=email):  # nothing is sent
        user, email_row = await users_sandbox.user(ctx)
        return user, email_row, False
    user, email_row, created = await users.find_or_create_by_email(ctx, email, pending=bool(create_user_as_pending))
    if created:
        await _email_link(
            ctx,
            flow="signup",
            to=email,
            user_id=user.user_id,
            email_id=email_row.email_id,
            url=req.signup_url,
            minutes=req.signup_minutes,
            pkce_challenge=pkce_challenge,
            attributes=attributes,
        )
    else:
        await _login_or_signup_link(
            ctx, req, user, email_row, email, pkce_challenge=pkce_challenge, attributes=attributes
        )
    return user, email_row, created


async def send(
    ctx: Context,
    email: str,
    *,
    login_url: str | None = None,
    signup_url: str | None = None,
    login_minutes: int | None = None,
    signup_minutes: int | None = None,
    pkce_challenge: str | None = None,
    attributes: dict[str, Any] | None = None,
    user_id: str | None = None,
    session_token: str | None = None,
    session_jwt: str | None = None,
) -> tuple[str, str]:
    """Email a link to an existing user's address: (user_id, email_id).

    Naming a user (by id or session) attaches a new address to that user: the email row
    is only written when the link is authenticated, within five minutes, so an unproven
    address never belongs to anyone."""
    email = email_rules.validate(email)
    req = await _link_request(
        ctx, login_url=login_url, signup_url=signup_url, login_minutes=login_minutes, signup_minutes=signup_minutes
    )
    if sandbox.consult(ctx, sandbox_values.SEND, email=email):  # nothing is sent
        user, email_row = await users_sandbox.user(ctx)
        return user.user_id, email_row.email_id
    owner = await _named_user(ctx, user_id, session_token, session_jwt)
    existing = await users_repo.find_email(ctx.conn, ctx.project_id, email_rules.normalize(email))
    if owner is None or (existing is not None and existing.user_id == owner.user_id):
        if existing is None:
            raise errors.EmailNotFound(f"No user in this project has the email {email!r}.")
        user = await users.load(ctx, existing.user_id)
        await _login_or_signup_link(
            ctx, req, user, existing, email, pkce_challenge=pkce_challenge, attributes=attributes
        )
        return user.user_id, existing.email_id
    if existing is not None:
        raise errors.DuplicateEmail("Another user in this project already has this email.")
    email_id = ids.email_id(ctx.live)
    await _email_link(
        ctx,
        flow="login",
        to=email,
        user_id=owner.user_id,
        email_id=email_id,
        url=req.login_url,
        minutes=min(req.login_minutes, ATTACH_MINUTES),
        pkce_challenge=pkce_challenge,
        attributes=attributes,
        extra={"attach_email": email},
    )
    return owner.user_id, email_id


async def _named_user(
    ctx: Context, user_id: str | None, session_token: str | None, session_jwt: str | None
) -> Row[Any] | None:
    if user_id:
        return await users.load(ctx, user_id)
    if session_token or session_jwt:
        row, _ = await sessions.authenticate(ctx, "consumer", token=session_token, session_jwt=session_jwt)
        return await users.load(ctx, row.user_id or "")
    return None


async def invite(
    ctx: Context,
    email: str,
    *,
    url: str | None = None,
    minutes: int | None = None,
    name: dict[str, Any] | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> tuple[Row[Any], Row[Any]]:
    """Create a pending user (or re-invite a pending one) and email an invite link.

    An active user cannot be invited (`user_already_active`)."""
    email = email_rules.validate(email)
    target = await redirect_urls.resolve(ctx.conn, ctx.project_id, url, RedirectType.INVITE)
    lifetime = link_minutes(minutes, INVITE_MINUTES)
    if sandbox.consult(ctx, sandbox_values.INVITE, email=email):  # nothing is sent
        return await users_sandbox.user(ctx)
    user, email_row, _ = await users.find_or_create_by_email(
        ctx,
        email,
        pending=True,
        name=name,
        trusted_metadata=trusted_metadata,
        untrusted_metadata=untrusted_metadata,
    )
    if user.status == "active":
        raise errors.UserAlreadyActive()
    await _email_link(
        ctx,
        flow="invite",
        to=email,
        user_id=user.user_id,
        email_id=email_row.email_id,
        url=target,
        minutes=lifetime,
        attributes=attributes,
    )
    return user, email_row


async def revoke_invite(ctx: Context, email: str) -> None:
    """Invalidate every outstanding invite link sent to `email`; `invite_not_found` if none."""
    email = email_rules.validate(email)
    rows = await tokens.live(ctx, TokenKind.CONSUMER_MAGIC_LINK, email=email_rules.normalize(email))
    invites = [r.token_id for r in rows if (r.data or {}).get("type") == "invite"]
    if not invites:
        raise errors.InviteNotFound(f"No pending invite exists for {email!r}.")
    await tokens.spend(ctx, invites, reason=tokens.VOID_REVOKED)


async def create_embedded(ctx: Context, user_id: str, *, minutes: int | None = None) -> tuple[str, str]:
    """An embeddable magic link: the token itself, for the app to deliver (no email)."""
    lifetime = link_minutes(minutes, EMBEDDED_MINUTES)
    user = await users.load(ctx, user_id)
    token, _ = await tokens.issue(
        ctx,
        TokenKind.CONSUMER_MAGIC_LINK,
        minutes=lifetime,
        user_id=user.user_id,
        data={"type": "embedded", "embedded_id": ids.new_id("embedded", ctx.live)},
    )
    return user.user_id, token


@dataclass
class Authenticated:
    user: Row[Any]
    method_id: str
    session: SessionRow | None
    session_token: str
    session_jwt: str


def _embedded_factor(now: Any, embedded_id: str) -> dict[str, Any]:
    stamp = rfc3339(now)
    return {
        "type": "magic_link",
        "delivery_method": "embedded",
        "last_authenticated_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
        "embeddable_magic_link_factor": {"embedded_id": embedded_id},
    }


def _check_options(row: Row[Any], options: dict[str, Any] | None, attributes: dict[str, Any] | None) -> None:
    """Options.ip_match_required / user_agent_match_required: the `attributes` the app passed
    when it sent the link must match the ones it passes now."""
    if not options:
        return
    sent = (row.data or {}).get("attributes") or {}
    now = _attributes(attributes)
    for option, field in (("ip_match_required", "ip_address"), ("user_agent_match_required", "user_agent")):
        if options.get(option) and (not sent.get(field) or sent.get(field) != now[field]):
            raise errors.UnableToAuthMagicLink(
                f"options.{option} is set and the {field} in attributes does not match the one the magic "
                "link was sent with."
            )


async def authenticate(
    ctx: Context,
    token: str,
    *,
    session_minutes: int | None = None,
    session_token: str | None = None,
    session_jwt: str | None = None,
    custom_claims: dict[str, Any] | None = None,
    code_verifier: str | None = None,
    options: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> Authenticated:
    """Redeem a consumer magic link: the email is verified, the user becomes active, and a
    session starts only when `session_duration_minutes` is given."""
    sessions.check_duration(session_minutes)
    if session_token and session_jwt:
        raise errors.TooManySessionArguments()
    if sandbox.consult(ctx, sandbox_values.AUTHENTICATE, token=token):
        return await _sandbox_authenticate(ctx, session_minutes, session_token, session_jwt, custom_claims)
    async with ratelimit.attempts(ctx, token):
        row = await tokens.redeem(
            ctx, token, KINDS, used=errors.UnableToAuthMagicLink, unknown=errors.MagicLinkNotFound, noun="magic link"
        )
        tokens.check_pkce(row, code_verifier)
    _check_options(row, options, attributes)
    user = await users_repo.find_user(ctx.conn, ctx.project_id, row.user_id or "")
    if user is None or user.user_id != row.user_id:
        raise errors.MagicLinkNotFound()
    now = ctx.clock.now()
    data = row.data or {}
    if data.get("type") == "embedded":
        method_id = data["embedded_id"]
        factor = _embedded_factor(now, method_id)
    else:
        email: Row[Any] | None
        if data.get("attach_email"):
            email = await users.add_email(ctx, user.user_id, data["attach_email"], verified=True, email_id=row.email_id)
        else:
            email = await users_repo.get_email(ctx.conn, ctx.project_id, row.email_id or "")
            if email is None or email.user_id != user.user_id:
                raise errors.MagicLinkNotFound()
            await users.verify_email(ctx, email.email_id)
        method_id = email.email_id
        factor = factors.email(now, email.email_id, email.email)
    user = await users.activate(ctx, user)
    if session_minutes is None:
        return Authenticated(user, method_id, None, "", "")
    session, issued_token = await sessions.start(
        ctx,
        "consumer",
        factor=factor,
        minutes=session_minutes,
        user_id=user.user_id,
        custom_claims=custom_claims,
        existing_token=session_token,
        existing_jwt=session_jwt,
        attributes=_attributes(attributes),
    )
    return Authenticated(user, method_id, session, issued_token, await sessions.user_jwt(ctx, session, []))


async def _sandbox_authenticate(
    ctx: Context,
    minutes: int | None,
    session_token: str | None,
    session_jwt: str | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """The sandbox magic link (core/sandbox.py) logs the project's sandbox user in: its session
    is the sandbox session, whose token is the documented session token, unless the caller
    names a session of its own to extend."""
    user, email, _ = await sessions_sandbox.session(ctx)
    if minutes is None:
        return Authenticated(user, email.email_id, None, "", "")
    session, issued_token = await sessions.start(
        ctx,
        "consumer",
        factor=factors.email(ctx.clock.now(), email.email_id, email.email),
        minutes=minutes,
        user_id=user.user_id,
        custom_claims=custom_claims,
        existing_token=session_token or (None if session_jwt else sandbox.SESSION_SUCCESS),
        existing_jwt=session_jwt,
    )
    return Authenticated(user, email.email_id, session, issued_token, await sessions.user_jwt(ctx, session, []))
