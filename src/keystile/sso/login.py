"""An SSO login from start to session, whatever the connection's kind.

1. `/v1/public/sso/start` (sso/routes_public.py) checks the redirect URLs and opens a `Flow`:
   a single-use token of kind `sso_flow` (10 minutes) whose secret is the `state` the IdP
   hands back (OIDC `state`, SAML `RelayState`), bound to the browser by a cookie
   (`flow_cookie`), carrying the app's redirect URLs, its PKCE challenge and whatever the
   kind needs to check the answer (`Flow.data`: an OIDC nonce and code verifier, a SAML
   AuthnRequest ID). The kind's `start` gives the URL of the IdP.
2. The IdP sends the browser back to the connection's callback (`/v1/b2b/sso/callback/{id}`,
   GET for OIDC, POST for a SAML ACS). The kind's `callback` takes the flow back with
   `redeem_flow` (single use, browser checked), verifies the IdP's answer and returns an
   `Identity`.
3. `finish_login(ctx, connection, identity, flow)` is where every kind ends: it issues the
   single-use `sso` token (10 minutes, the flow's PKCE challenge) carrying the verified
   identity, and returns the app's redirect URL (login URL for an existing Member, signup URL
   otherwise) with `stytch_token_type=sso&token=…`. An IdP-initiated SAML login passes
   `flow=None`: the project's default login/signup URLs are used.
4. The app calls `sso.authenticate` (`authenticate` below): the token is redeemed, PKCE
   checked, the Member found or provisioned just in time (`sso_jit_provisioning`), its
   `sso_registrations` updated, and `sessions/logins.py complete_primary` answers with a
   session or, where MFA is required, an intermediate session.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors
from keystile.core import crypto, ratelimit, redirect_urls, tokens
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.core.redirect_urls import RedirectType
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.organizations.repository import settings_of
from keystile.sessions import intermediate, logins
from keystile.sessions import service as sessions
from keystile.sso import factors, oidc_tokens, service
from keystile.sso.errors import (
    ConnectionNotFound,
    MissingEmail,
    NoDefaultSSOConnection,
    SSOJITProvisioningNotAllowed,
    SSOStateMismatch,
    SSOTokenNotFound,
    UnableToAuthSSOToken,
)

FLOW_KIND = "sso_flow"
TOKEN_KIND = "sso"
FLOW_MINUTES = 10
TOKEN_MINUTES = 10
COOKIE_PREFIX = "keystile_sso_"


@dataclass(frozen=True)
class Identity:
    """Who the IdP says signed in, verified by the kind's callback.

    `external_id`: the IdP's stable id of the person (OIDC `sub`, SAML NameID); `attributes`:
    what the IdP said about them (OIDC claims and userinfo, SAML attributes), kept as the
    registration's `sso_attributes`; `groups`: for SAML group role assignments."""

    email: str
    external_id: str
    name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    # The session factor's delivery method: how the IdP proved it (sso_oidc, sso_saml).
    delivery_method: str = "sso_oidc"
    # An OIDC IdP's tokens (sso/oidc_tokens.py from_answer), kept for the Member at login.
    tokens: dict[str, Any] | None = None


@dataclass(frozen=True)
class Flow:
    """An SSO login under way, from start to the IdP's answer."""

    connection_id: str
    organization_id: str
    login_redirect_url: str | None
    signup_redirect_url: str | None
    pkce_code_challenge: str | None
    data: dict[str, Any] = field(default_factory=dict)


def flow_cookie(state: str) -> str:
    """The name of the cookie that binds one flow to the browser that started it (one per
    flow, so two logins in two tabs do not undo each other)."""
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


async def open_flow(ctx: Context, flow: Flow) -> tuple[str, str]:
    """Store a flow; its `state` (the secret the IdP hands back) and the browser binding (the
    value of the `flow_cookie(state)` cookie, stored hashed)."""
    browser = crypto.new_token()
    state, _ = await tokens.issue(
        ctx,
        FLOW_KIND,
        minutes=FLOW_MINUTES,
        organization_id=flow.organization_id,
        pkce_challenge=flow.pkce_code_challenge,
        data={
            "connection_id": flow.connection_id,
            "login_redirect_url": flow.login_redirect_url,
            "signup_redirect_url": flow.signup_redirect_url,
            "browser": crypto.hash_token(browser),
            **flow.data,
        },
    )
    return state, browser


class Rebind(Exception):
    """The IdP's answer was posted cross-site (a SAML ACS), and the browser withheld the
    SameSite=Lax flow cookie: the callback route answers with a page of keystile's own that
    posts `fields` to the same URL again, same-site, so that the cookie goes along and the
    flow is checked against this browser like any other (routes_public.py)."""

    MARK = "keystile_rebound"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("the answer must come again from keystile's own page")
        self.fields = {**fields, self.MARK: "1"}


async def redeem_flow(ctx: Context, state: str, connection: Record, browser: str | None) -> Flow:
    """Take back the flow `state` names, once: it must be live, of this connection, and
    started in this browser (`browser`: the flow cookie's value). Anything else is
    `invalid_sso_state`, and the flow is spent either way."""
    if not state:
        raise SSOStateMismatch("The identity provider's answer carries no state.")
    row = await tokens.redeem(ctx, state, (FLOW_KIND,), used=SSOStateMismatch, unknown=SSOStateMismatch)
    data = dict(row.data or {})
    # An external connection's login goes through the IdP of the connection it delegates to.
    if data.get("via", data.get("connection_id")) != connection.connection_id:
        raise SSOStateMismatch("This SSO login was started for another connection.")
    if not browser or not hmac.compare_digest(crypto.hash_token(browser), str(data.get("browser", ""))):
        raise SSOStateMismatch("This SSO login was started in another browser (or its cookie is gone).")
    return Flow(
        connection_id=str(data["connection_id"]),
        organization_id=str(row.organization_id),
        login_redirect_url=data.pop("login_redirect_url", None),
        signup_redirect_url=data.pop("signup_redirect_url", None),
        pkce_code_challenge=row.pkce_challenge,
        data={k: v for k, v in data.items() if k not in ("connection_id", "browser")},
    )
    # (Flow.connection_id above is the connection logged into; `via`, if any, stays in data.)


async def start(
    ctx: Context,
    *,
    connection_id: str | None,
    organization_ref: str | None,
    login_redirect_url: str | None,
    signup_redirect_url: str | None,
    pkce_code_challenge: str | None,
    options: dict[str, str],
) -> tuple[str, str, str]:
    """Begin a login through `connection_id`, or the organization's default connection:
    the redirect URLs checked, a flow opened by the connection's kind. Returns the IdP's URL
    to send the browser to, the flow's state and its browser binding (for `flow_cookie`).
    `options`: the start URL's other query parameters a kind may read (`custom_scopes`,
    `provider_*`)."""
    connection = None
    if connection_id:
        connection = await service.find_active(ctx, connection_id)
    elif organization_ref:
        org = await service.organization(ctx, organization_ref)
        default = settings_of(org).get("sso_default_connection_id")
        if not default:
            raise NoDefaultSSOConnection()
        connection = await service.find_active(ctx, str(default))
    else:
        raise errors.InvalidArgument("Pass connection_id (or organization_id for its default connection).")
    if connection is None:
        raise ConnectionNotFound("No active SSO connection with this connection_id exists in this project.")
    await check_redirect_urls(ctx, login_redirect_url, signup_redirect_url)
    kind = service.KINDS.get(connection.kind)
    if kind is None or kind.start is None:
        raise ConnectionNotFound(f"keystile cannot start a login through a {connection.kind} connection.")
    flow = Flow(
        connection_id=connection.connection_id,
        organization_id=connection.organization_id,
        login_redirect_url=login_redirect_url or None,
        signup_redirect_url=signup_redirect_url or None,
        pkce_code_challenge=pkce_code_challenge or None,
    )
    return await kind.start(ctx, connection, flow, options)


async def callback(request: Any, ctx: Context, connection_id: str) -> str:
    """The IdP's answer at a connection's callback URL, by the connection's kind: verified
    by the kind, finished by `finish_login`. The app's URL to redirect to."""
    connection = await service.find_active(ctx, connection_id)
    kind = service.KINDS.get(connection.kind) if connection is not None else None
    if connection is None or kind is None or kind.callback is None:
        raise ConnectionNotFound()
    identity, flow = await kind.callback(request, ctx, connection)
    if flow is not None and flow.connection_id != connection.connection_id:
        target = await service.find_active(ctx, flow.connection_id)
        if target is None:
            raise ConnectionNotFound("The connection this login was started for was deleted since.")
        return await finish_login(ctx, target, identity, flow)
    return await finish_login(ctx, connection, identity, flow)


async def check_redirect_urls(ctx: Context, login_redirect_url: str | None, signup_redirect_url: str | None) -> None:
    """At start: a URL the app names must be on the allowlist for its type (refused before
    the browser goes anywhere)."""
    if login_redirect_url:
        await redirect_urls.resolve(ctx.conn, ctx.project_id, login_redirect_url, RedirectType.LOGIN)
    if signup_redirect_url:
        await redirect_urls.resolve(ctx.conn, ctx.project_id, signup_redirect_url, RedirectType.SIGNUP)


async def finish_login(ctx: Context, connection: Record, identity: Identity, flow: Flow | None) -> str:
    """Every kind's callback ends here: the IdP proved `identity` for `connection`. Issues
    the single-use `sso` token and returns the app's URL to redirect the browser to, with
    `stytch_token_type=sso` and `token`. The login URL is used when the email already belongs
    to a Member of the organization, the signup URL otherwise; each is the one the flow named
    or the project's default of that type (a flow of None: an IdP-initiated login)."""
    if not identity.email:
        raise MissingEmail()
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, connection.organization_id, identity.email)
    existing = member is not None
    requested = None
    if flow is not None:
        requested = flow.login_redirect_url if existing else flow.signup_redirect_url
    url = await redirect_urls.resolve(
        ctx.conn, ctx.project_id, requested, RedirectType.LOGIN if existing else RedirectType.SIGNUP
    )
    token, _ = await tokens.issue(
        ctx,
        TOKEN_KIND,
        minutes=TOKEN_MINUTES,
        email=identity.email,
        organization_id=connection.organization_id,
        pkce_challenge=flow.pkce_code_challenge if flow is not None else None,
        data={
            "connection_id": connection.connection_id,
            "delivery_method": identity.delivery_method,
            "external_id": identity.external_id,
            "name": identity.name,
            "attributes": identity.attributes,
            "groups": list(identity.groups),
            **(oidc_tokens.pending(ctx, identity.tokens) if identity.tokens else {}),
        },
    )
    return redirect_urls.with_params(url, stytch_token_type="sso", token=token)


def check_auth_method(org: Record, member: Record | None) -> None:
    """An organization whose `auth_methods` is RESTRICTED must list `sso` in
    `allowed_auth_methods`; break-glass Members are exempt."""
    if member is not None and member.is_breakglass:
        return
    settings = settings_of(org)
    if settings["auth_methods"] == "RESTRICTED" and "sso" not in (settings["allowed_auth_methods"] or []):
        raise errors.OperationRestrictedByOrganizationAuthMethods(
            "This organization's allowed_auth_methods do not include sso."
        )


def jit_allowed(org: Record, connection_id: str) -> bool:
    """`sso_jit_provisioning`: ALL_ALLOWED, RESTRICTED to
    `sso_jit_provisioning_allowed_connections`, or NOT_ALLOWED."""
    settings = settings_of(org)
    policy = settings["sso_jit_provisioning"]
    if policy == "ALL_ALLOWED":
        return True
    return policy == "RESTRICTED" and connection_id in (settings["sso_jit_provisioning_allowed_connections"] or [])


async def _member(ctx: Context, org: Row[Any], connection_id: str, email: str, name: str) -> Row[Any]:
    """The Member this login is for: an existing one activated (an invited or pending Member
    joins by logging in), or a new one where the organization provisions Members just in time
    through this connection."""
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
    if member is None:
        if not jit_allowed(org, connection_id):
            raise SSOJITProvisioningNotAllowed()
        try:
            async with ctx.conn.begin_nested():
                member = await members_service.create_member(
                    ctx, org, email=email, status="active", name=name or None, email_verified=True
                )
        except (IntegrityError, errors.DuplicateMemberEmail):
            member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
            if member is None:
                raise errors.MemberNotFound() from None
    return await members_service.activate(ctx, member)


def _registrations(
    member: Row[Any], connection_id: str, external_id: str, attributes: dict[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    """The Member's sso_registrations with this connection's entry added or refreshed; and
    the entry's registration_id."""
    registrations = [dict(r) for r in (getattr(member, "sso_registrations", None) or [])]
    for entry in registrations:
        if entry.get("connection_id") == connection_id:
            entry["external_id"] = external_id
            entry["sso_attributes"] = attributes
            return registrations, str(entry["registration_id"])
    live = "-live-" in member.member_id
    registration_id = f"sso-registration-{'live' if live else 'test'}-{uuid.uuid4()}"
    registrations.append(
        {
            "connection_id": connection_id,
            "external_id": external_id,
            "registration_id": registration_id,
            "sso_attributes": attributes,
        }
    )
    return registrations, registration_id


async def authenticate(
    ctx: Context,
    sso_token: str,
    *,
    pkce_code_verifier: str | None,
    session_token: str | None,
    session_jwt: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    intermediate_session_token: str | None,
) -> dict[str, Any]:
    """Redeem an SSO token (stytch.com/docs/b2b/api/sso-authenticate-start): a session, or an
    intermediate session when the organization requires MFA."""
    sessions.check_duration(session_duration_minutes)
    if session_token and session_jwt:
        raise errors.TooManySessionArguments()
    async with ratelimit.attempts(ctx, sso_token):  # guesses per address, wrong verifiers per token
        row = await tokens.redeem(ctx, sso_token, (TOKEN_KIND,), used=UnableToAuthSSOToken, unknown=SSOTokenNotFound)
        tokens.check_pkce(row, pkce_code_verifier)
    data = dict(row.data or {})
    connection_id = str(data.get("connection_id", ""))
    org = await service.organization(ctx, str(row.organization_id))
    connection = await service.find_active(ctx, connection_id)
    if connection is None or connection.organization_id != org.organization_id:
        raise ConnectionNotFound("The SSO connection this login went through was deleted or deactivated since.")
    member = await _member(ctx, org, connection_id, str(row.email), str(data.get("name") or ""))
    check_auth_method(org, member)
    registrations, registration_id = _registrations(
        member, connection_id, str(data.get("external_id", "")), dict(data.get("attributes") or {})
    )
    member = await members_repo.set_sso_registrations(
        ctx.conn, ctx.project_id, member.member_id, registrations, ctx.clock.now()
    )
    idp_tokens = oidc_tokens.from_pending(ctx, data)
    if idp_tokens is not None:
        await oidc_tokens.save(ctx, member.member_id, connection_id, str(data.get("external_id", "")), idp_tokens)
    kind = service.KINDS.get(connection.kind)
    if kind is not None and kind.granted_roles is not None:
        # The roles this connection (and the IdP's groups) grant, recomputed at each login.
        member = await members_repo.replace_granted_roles(
            ctx.conn,
            ctx.project_id,
            member.member_id,
            ("sso_connection", "sso_connection_group"),
            kind.granted_roles(connection, [str(g) for g in data.get("groups") or []]),
            details={"connection_id": connection_id},
        )
    delivery = str(data.get("delivery_method") or "sso_oidc")
    factor = factors.sso(delivery).build(
        ctx.clock.now(),
        **{
            f"{delivery.removeprefix('sso_')}_sso_factor": {
                "id": registration_id,
                "provider_id": connection_id,
                "external_id": str(data.get("external_id", "")),
            }
        },
    )
    prior = None
    if intermediate_session_token:
        ist = await intermediate.redeem(ctx, intermediate_session_token)
        if ist.organization_id and ist.organization_id != org.organization_id:
            raise errors.InvalidIntermediateSessionForOrganization()
        prior = logins.carried_factors(ist, member, factor)
    result = await logins.complete_primary(
        ctx,
        org,
        member,
        factor=factor,
        minutes=session_duration_minutes,
        custom_claims=session_custom_claims,
        existing_token=session_token,
        existing_jwt=session_jwt,
        prior_factors=prior,
    )
    return {**result, "organization_id": org.organization_id, "reset_session": False, "member_device": None}
