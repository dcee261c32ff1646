"""B2B OAuth: organization login and discovery with Google, Microsoft, GitHub, Slack and
HubSpot (stytch.com/docs/b2b/api/oauth-google-start, /authenticate-oauth,
/oauth-google-discovery-start, /authenticate-discovery-oauth).

    start route (routes_b2b.py) → `start` / `discovery_start`: the organization and the
        app's redirect URLs checked, then callback.begin (state bound to the browser)
    provider → callback.finish → the flow's ending here (`_organization_ending`,
        `_discovery_ending`): a single-use token (`b2b_oauth`, `discovery_oauth`) keeping what
        the provider said and its tokens (sealed), and the app's URL with
        `stytch_token_type=oauth` (or `discovery_oauth`)
    app → `authenticate`: the Member found or provisioned by the organization's rules, the
        provider registration and tokens kept, then sessions/logins.py complete_primary;
        `discovery_authenticate`: an intermediate session and the organizations it may enter
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors as shared
from keystile.core import emails, events, ratelimit, redirect_urls, tokens
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.core.redirect_urls import RedirectType
from keystile.discovery import service as discovery
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.oauth import callback, errors, factors, pending, registrations
from keystile.oauth.providers import Profile
from keystile.oauth.service_consumer import provider_type
from keystile.organizations import repository as orgs_repo
from keystile.organizations import service as orgs_service
from keystile.organizations.repository import settings_of
from keystile.sessions import intermediate, logins
from keystile.sessions import service as sessions

# The providers of Stytch's B2B product.
B2B_PROVIDERS = ("google", "microsoft", "github", "slack", "hubspot")
# Providers whose answer proves the person controls the email (Stytch: "GitHub, Slack and
# HubSpot do not fully verify the email"); their `email_verified` is believed.
EMAIL_VERIFYING = frozenset({"google", "microsoft"})
ORGANIZATION_KIND = "b2b_oauth"
DISCOVERY_KIND = "discovery_oauth"
ORGANIZATION_FLOW = "b2b"
DISCOVERY_FLOW = "b2b_discovery"
TOKEN_MINUTES = 10


def b2b_provider(name: str) -> str:
    if name not in B2B_PROVIDERS:
        raise errors.InvalidOAuthProvider(
            f"{name!r} is not a B2B OAuth provider; B2B logins use {', '.join(B2B_PROVIDERS)}."
        )
    return name


def email_proven(provider: str, profile: Profile) -> bool:
    return provider in EMAIL_VERIFYING and profile.email_verified


def auth_method(provider: str) -> str:
    """The provider's name among an organization's `allowed_auth_methods`."""
    return f"{provider}_oauth"


# --- Start ---


async def start(
    ctx: Context,
    provider: str,
    *,
    organization_id: str | None,
    slug: str | None,
    login_redirect_url: str | None,
    signup_redirect_url: str | None,
    custom_scopes: str | None,
    pkce_code_challenge: str | None,
    provider_params: dict[str, str],
) -> callback.Started:
    """Start an organization's login at a provider: the organization (by id or slug) must
    exist, and a redirect URL the app names must be on the allow list (the default of its
    type is used at the end otherwise)."""
    b2b_provider(provider)
    ref = organization_id or slug
    if not ref:
        raise shared.InvalidArgument("Pass organization_id or slug: the organization the user logs in to.")
    org = await orgs_repo.get(ctx.conn, ctx.project_id, ref)
    if login_redirect_url:
        await redirect_urls.resolve(ctx.conn, ctx.project_id, login_redirect_url, RedirectType.LOGIN)
    if signup_redirect_url:
        await redirect_urls.resolve(ctx.conn, ctx.project_id, signup_redirect_url, RedirectType.SIGNUP)
    return await callback.begin(
        ctx,
        provider,
        flow_name=ORGANIZATION_FLOW,
        data={"login_redirect_url": login_redirect_url, "signup_redirect_url": signup_redirect_url},
        custom_scopes=custom_scopes,
        provider_params=provider_params,
        pkce_challenge=pkce_code_challenge,
        organization_id=org.organization_id,
    )


async def discovery_start(
    ctx: Context,
    provider: str,
    *,
    discovery_redirect_url: str | None,
    custom_scopes: str | None,
    pkce_code_challenge: str | None,
    provider_params: dict[str, str],
) -> callback.Started:
    """Start a discovery login at a provider; it ends on the discovery redirect URL."""
    b2b_provider(provider)
    url = await redirect_urls.resolve(ctx.conn, ctx.project_id, discovery_redirect_url, RedirectType.DISCOVERY)
    return await callback.begin(
        ctx,
        provider,
        flow_name=DISCOVERY_FLOW,
        data={"discovery_redirect_url": url},
        custom_scopes=custom_scopes,
        provider_params=provider_params,
        pkce_challenge=pkce_code_challenge,
    )


# --- The callback's endings ---


def _login_data(ctx: Context, login: callback.Login) -> dict[str, Any]:
    """What a token keeps of a login: the provider, the person, its tokens sealed."""
    return {"provider": login.provider, "profile": login.profile.to_json(), **pending.B2B.seal(ctx, login.tokens)}


def _profile_email(login: callback.Login) -> str:
    if not login.profile.email:
        raise errors.OAuthProviderError(f"{login.provider} did not say the person's email address.")
    return emails.validate(login.profile.email)


@callback.flow(ORGANIZATION_FLOW)
async def _organization_ending(ctx: Context, state: Row[Any], login: callback.Login) -> str:
    """The `oauth` token oauth.authenticate redeems, on the login redirect URL for an active
    Member of the organization, on the signup one for anyone else."""
    data = state.data or {}
    email = _profile_email(login)
    org = await orgs_repo.get(ctx.conn, ctx.project_id, state.organization_id or "")
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
    active = member is not None and member.status == "active"
    url = await redirect_urls.resolve(
        ctx.conn,
        ctx.project_id,
        data.get("login_redirect_url") if active else data.get("signup_redirect_url"),
        RedirectType.LOGIN if active else RedirectType.SIGNUP,
    )
    token, _ = await tokens.issue(
        ctx,
        ORGANIZATION_KIND,
        minutes=TOKEN_MINUTES,
        email=email,
        organization_id=org.organization_id,
        pkce_challenge=state.pkce_challenge,
        data=_login_data(ctx, login),
    )
    return redirect_urls.with_params(url, slug=org.slug, stytch_token_type="oauth", token=token)


@callback.flow(DISCOVERY_FLOW)
async def _discovery_ending(ctx: Context, state: Row[Any], login: callback.Login) -> str:
    """The `discovery_oauth` token oauth.discovery.authenticate redeems."""
    email = _profile_email(login)
    token, _ = await tokens.issue(
        ctx,
        DISCOVERY_KIND,
        minutes=TOKEN_MINUTES,
        email=email,
        pkce_challenge=state.pkce_challenge,
        data=_login_data(ctx, login),
    )
    url = str((state.data or {})["discovery_redirect_url"])
    return redirect_urls.with_params(url, stytch_token_type="discovery_oauth", token=token)


# --- Authenticate ---


async def _redeem(ctx: Context, token: str, kind: str, verifier: str | None) -> Row[Any]:
    async with ratelimit.attempts(ctx, token):
        row = await tokens.redeem(ctx, token, (kind,), used=errors.OAuthTokenNotFound, unknown=errors.UnknownOAuthToken)
        # A failed check raises, which rolls the redemption back: the token stays usable.
        tokens.check_pkce(row, verifier)
    return row


def _tenant_allowed(org: Row[Any], provider: str, profile: Profile) -> bool:
    return discovery.oauth_tenant_jit_allowed(org, provider, list(profile.tenants))


async def _provision(ctx: Context, org: Row[Any], email: str, provider: str, profile: Profile) -> Row[Any]:
    """A new Member, where the organization provisions one just in time: by the email's domain
    (`email_jit_provisioning`), or by the provider's tenant (`oauth_tenant_jit_provisioning`)."""
    by_tenant = _tenant_allowed(org, provider, profile)
    if not by_tenant and not discovery.jit_allowed(org, email):
        if profile.tenants and settings_of(org).get("oauth_tenant_jit_provisioning") == "RESTRICTED":
            raise shared.OAuthTenantJITProvisioningNotAllowed()
        raise shared.EmailJITProvisioningNotAllowed()
    if not by_tenant:
        await orgs_service.check_domain_claim(ctx, email, org)
    verified = email_proven(provider, profile)
    try:
        async with ctx.conn.begin_nested():
            return await members_service.create_member(
                ctx,
                org,
                email=email,
                status="active" if verified else "pending",
                email_verified=verified,
                name=profile.name or None,
            )
    except (IntegrityError, shared.DuplicateMemberEmail):
        # A concurrent login created the same Member first: log into that one.
        found = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
        if found is None:
            raise shared.MemberNotFound() from None
        return found


async def _register(
    ctx: Context, org: Row[Any], member: Row[Any], provider: str, profile: Profile, data: dict[str, Any]
) -> tuple[Row[Any], Row[Any]]:
    """Keep the provider registration and its tokens for the Member, and list it on the Member
    (`oauth_registrations`); the registration and the updated Member."""
    registration = await registrations.save(
        ctx,
        provider=provider,
        profile=profile,
        tokens=pending.B2B.unseal(ctx, data),
        member_id=member.member_id,
        organization_id=org.organization_id,
    )
    entry = {
        "provider_type": provider_type(provider),
        "provider_subject": profile.subject,
        "member_oauth_registration_id": registration.registration_id,
        "profile_picture_url": profile.picture,
        "locale": profile.locale,
    }
    member = await members_repo.put_oauth_registration(
        ctx.conn, ctx.project_id, member.member_id, entry, updated_at=ctx.clock.now()
    )
    return registration, member


def _registered(member: Row[Any], provider: str, subject: str) -> bool:
    """The Member has this provider account among its registrations already."""
    kind = provider_type(provider)
    return any(
        isinstance(e, dict) and e.get("provider_type") == kind and e.get("provider_subject") == subject
        for e in getattr(member, "oauth_registrations", None) or []
    )


def _factor(ctx: Context, provider: str, registration_id: str, subject: str, email_id: str | None) -> dict[str, Any]:
    return factors.of(provider).build(
        ctx.clock.now(),
        **{factors.detail_field(provider): {"id": registration_id, "provider_subject": subject, "email_id": email_id}},
    )


async def authenticate(
    ctx: Context,
    token: str,
    *,
    pkce_code_verifier: str | None,
    session_token: str | None,
    session_jwt: str | None,
    intermediate_session_token: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """oauth.authenticate (B2B): the Member of the organization the login started for, found
    by email or provisioned just in time; its provider tokens kept; then a session, or an
    intermediate session when the organization wants another primary method
    (`primary_required`: its allowed_auth_methods, or an email-verifying method after a
    provider that does not verify emails) or a second factor (`mfa_required`)."""
    sessions.check_duration(session_duration_minutes)
    given = [v for v in (intermediate_session_token, session_token, session_jwt) if v]
    if len(given) > 1:
        raise shared.TooManySessionArguments("Pass one of intermediate_session_token, session_token and session_jwt.")
    row = await _redeem(ctx, token, ORGANIZATION_KIND, pkce_code_verifier)
    data = row.data or {}
    provider = str(data["provider"])
    profile = Profile.from_json(data["profile"])
    email = str(row.email)
    org = await orgs_repo.get(ctx.conn, ctx.project_id, row.organization_id or "")
    ist = None
    if intermediate_session_token:
        ist = await intermediate.peek(ctx, intermediate_session_token)
        if ist.organization_id not in (None, "", org.organization_id) or emails.normalize(ist.email or "") != (
            emails.normalize(email)
        ):
            raise shared.InvalidIntermediateSessionForOrganization(
                "This intermediate session does not belong to this email address and organization."
            )
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
    if member is None or member.status == "deleted":
        member = await _provision(ctx, org, email, provider, profile)
    # GitHub, Slack and HubSpot are trusted with an address only for a provider account already
    # registered to this Member, which happens once the Member proved the address after such a
    # login: otherwise anyone could name a Member's address at one of them and log in as it.
    trusted = email_proven(provider, profile) or _registered(member, provider, profile.subject)
    registration, values = None, None
    if trusted:
        found, member = await _register(ctx, org, member, provider, profile, data)
        registration = found.registration_id
        values = (await registrations.provider_values(ctx, found, refresh=False)).to_json()
    factor = _factor(ctx, provider, registration or "", profile.subject, member.email_id)
    answer = {
        "organization_id": org.organization_id,
        "provider_subject": profile.subject,
        "provider_type": provider_type(provider),
        "reset_sessions": False,
        "provider_values": values,
        "member_device": None,
    }
    required = discovery.primary_required(org, member, f"oauth_{provider}")
    if required is None and not trusted:
        required = discovery.email_unverified_required(org, None)
    if required is not None:
        # Proven by the provider, not enough for this organization: an intermediate session
        # carries this login to the method it asks for, with the provider's answer and tokens
        # (sealed) for the Member once that method succeeds (IntermediateSessionJoined).
        pending_login = {} if trusted else {"profile": profile.to_json(), **{k: data[k] for k in pending.B2B.fields}}
        ist_token, ist_row = await intermediate.issue(
            ctx,
            member.email,
            organization_id=org.organization_id,
            factor=factor,
            email_verified=trusted,
            extra={"oauth": {"provider": provider, "tenants": list(profile.tenants), **pending_login}},
        )
        return {**answer, **await discovery.primary_still_required(ctx, org, member, ist_token, ist_row, required)}
    prior = None
    if ist is not None and intermediate_session_token:
        await intermediate.redeem(ctx, intermediate_session_token)
        prior = logins.carried_factors(ist, member, factor)
    member = await members_service.activate(ctx, member)
    fields = await logins.complete_primary(
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
    return {**fields, **answer}


async def discovery_authenticate(ctx: Context, token: str, *, pkce_code_verifier: str | None) -> dict[str, Any]:
    """oauth.discovery.authenticate: an intermediate session holding this OAuth factor (and
    what the provider said, for the organization the person picks), and the organizations the
    email, or the provider's tenant, may enter."""
    row = await _redeem(ctx, token, DISCOVERY_KIND, pkce_code_verifier)
    data = row.data or {}
    provider = str(data["provider"])
    profile = Profile.from_json(data["profile"])
    email = str(row.email)
    oauth = {"provider": provider, "tenants": list(profile.tenants)}
    factor = factors.of(provider).build(
        ctx.clock.now(),
        **{factors.detail_field(provider): {"id": "", "provider_subject": profile.subject, "email_id": None}},
    )
    # The provider's tokens wait, sealed, in the intermediate session for the Member it makes.
    sealed = {k: data[k] for k in pending.B2B.fields if k in data}
    ist, ist_row = await intermediate.issue(
        ctx,
        email,
        factor=factor,
        email_verified=email_proven(provider, profile),
        extra={"oauth": {**oauth, "profile": profile.to_json(), **sealed}},
    )
    tenants = list(profile.tenants)
    return {
        "intermediate_session_token": ist,
        "intermediate_session_token_expires_at": rfc3339(ist_row.expires_at),
        "email_address": email,
        "discovered_organizations": await discovery.discovered_organizations(
            ctx, email, include_eligible=True, oauth=oauth
        ),
        "provider_type": provider_type(provider),
        "provider_tenant_id": tenants[0] if len(tenants) == 1 else "",
        "provider_tenant_ids": tenants,
        "full_name": profile.name,
    }


async def on_intermediate_session_joined(ctx: Context, event: events.IntermediateSessionJoined) -> None:
    """A discovery OAuth login became a Member (exchange, organization creation): keep its
    provider registration and tokens for that Member, as an organization login would."""
    oauth = event.data.get("oauth") or {}
    if not oauth.get("profile") or not all(k in oauth for k in pending.B2B.fields):
        return
    org = await orgs_repo.get(ctx.conn, ctx.project_id, event.organization_id)
    member = await members_repo.find(ctx.conn, ctx.project_id, org.organization_id, event.member_id)
    if member is None:
        return
    await _register(ctx, org, member, str(oauth["provider"]), Profile.from_json(oauth["profile"]), oauth)
