"""Consumer OAuth: the start (`start`), the ending of the consumer flow at the callback
(`_consumer_ending`), `oauth.authenticate` and `oauth.attach`
(stytch.com/docs/api/oauth-google-start, /docs/api/oauth-authenticate, /docs/api/oauth-attach).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Row

from keystile import errors as core_errors
from keystile.core import ratelimit, redirect_urls, sandbox, tokens
from keystile.core.context import Context
from keystile.core.redirect_urls import RedirectType
from keystile.oauth import callback, client, errors, factors, pending, registrations
from keystile.oauth import sandbox as sandbox_values
from keystile.oauth.providers import Profile
from keystile.sessions import sandbox as sessions_sandbox
from keystile.sessions import service as sessions
from keystile.users import repository as users_repo
from keystile.users import service as users

CONSUMER_KIND = "consumer_oauth"
ATTACH_KIND = "oauth_attach"
TOKEN_MINUTES = 10
ATTACH_MINUTES = 10
FLOW = "consumer"


async def start(
    ctx: Context,
    provider: str,
    *,
    login_redirect_url: str | None,
    signup_redirect_url: str | None,
    custom_scopes: str | None,
    provider_params: dict[str, str],
    code_challenge: str | None,
    oauth_attach_token: str | None,
) -> callback.Started:
    """The consumer start route: both redirect URLs resolved against the allow list (the
    type's default when not named), an attach token spent, then the provider's authorize URL."""
    registrations.provider_named(provider)
    login = await redirect_urls.resolve(ctx.conn, ctx.project_id, login_redirect_url, RedirectType.LOGIN)
    signup = await redirect_urls.resolve(ctx.conn, ctx.project_id, signup_redirect_url, RedirectType.SIGNUP)
    user_id = None
    if oauth_attach_token:
        row = await tokens.redeem(
            ctx,
            oauth_attach_token,
            (ATTACH_KIND,),
            used=errors.OAuthAttachTokenNotFound,
            unknown=errors.OAuthAttachTokenNotFound,
        )
        if (row.data or {}).get("provider") != provider:
            raise errors.OAuthAttachTokenNotFound(
                f"This oauth_attach_token was made for another provider than {provider}."
            )
        user_id = row.user_id
    return await callback.begin(
        ctx,
        provider,
        flow_name=FLOW,
        data={"login_redirect_url": login, "signup_redirect_url": signup},
        custom_scopes=custom_scopes,
        provider_params=provider_params,
        pkce_challenge=code_challenge,
        user_id=user_id,
    )


async def _known_user(ctx: Context, provider: str, profile: Profile, attach_user_id: str | None) -> str | None:
    """The user this login is for: the attach token's, the provider account's, or the owner of
    the verified address the provider gives; None for a new user."""
    if attach_user_id:
        return attach_user_id
    registration = await registrations.find_by_subject(ctx, provider, profile.subject)
    if registration is not None:
        return str(registration.user_id)
    if profile.email and profile.email_verified:
        owner = await users.find_email(ctx, profile.email)
        if owner is not None:
            return str(owner.user_id)
    return None


@callback.flow(FLOW)
async def _consumer_ending(ctx: Context, state: Row[Any], login: callback.Login) -> str:
    """Issue the `oauth` token the app redeems with oauth.authenticate; send the browser to the
    login redirect URL for a known user, to the signup one for a new user."""
    data = state.data or {}
    user_id = await _known_user(ctx, login.provider, login.profile, state.user_id)
    token, _ = await tokens.issue(
        ctx,
        CONSUMER_KIND,
        minutes=TOKEN_MINUTES,
        user_id=user_id,
        pkce_challenge=state.pkce_challenge,
        data={
            "provider": login.provider,
            "profile": login.profile.to_json(),
            **pending.CONSUMER.seal(ctx, login.tokens),
            "attach": bool(state.user_id),
        },
    )
    target = data["login_redirect_url"] if user_id else data["signup_redirect_url"]
    return redirect_urls.with_params(target, stytch_token_type="oauth", token=token)


@dataclass
class Authenticated:
    user: Row[Any]
    registration: Row[Any]
    profile: Profile
    provider: str
    provider_values: registrations.ProviderValues
    session: Any
    session_token: str
    session_jwt: str


def _name(profile: Profile) -> dict[str, str] | None:
    if not (profile.first_name or profile.last_name):
        return None
    return {"first_name": profile.first_name, "last_name": profile.last_name}


async def _user_for(ctx: Context, row: Row[Any], provider: str, profile: Profile) -> tuple[Row[Any], str | None]:
    """The user the token is for (found again now: another login may have created it since),
    or a new one; and the id of the verified address the provider gave, if the user has it."""
    user_id = row.user_id or await _known_user(ctx, provider, profile, None)
    email_id = None
    if user_id:
        user = await users_repo.find_user(ctx.conn, ctx.project_id, user_id)
        if user is None or user.user_id != user_id:
            raise errors.UnknownOAuthToken("The user this OAuth login was for no longer exists.")
    elif profile.email and await users.find_email(ctx, profile.email) is None:
        user, email_row, _ = await users.find_or_create_by_email(ctx, profile.email, pending=False, name=_name(profile))
        if email_row.user_id != user.user_id or not profile.email_verified:
            email_id = None
    else:
        # No address, or one the provider did not verify that another user owns: a new user
        # without it (an unverified address never logs anyone in as its owner).
        user, _ = await users.create_user(ctx, email=None, name=_name(profile))
    if profile.email and profile.email_verified:
        owned = await users.find_email(ctx, profile.email)
        if owned is not None and owned.user_id == user.user_id:
            email_id = owned.email_id
            if not owned.verified:
                await users.verify_email(ctx, owned.email_id)
    return user, email_id


async def _list_providers(ctx: Context, user_id: str) -> None:
    """Write the User's `providers` onto its row from its registrations."""
    entries = [provider_entry(r) for r in await registrations.registrations_of(ctx, user_id)]
    await users_repo.set_oauth_providers(ctx.conn, ctx.project_id, user_id, entries)


async def delete_registration(ctx: Context, registration_id: str) -> Row[Any]:
    """users.delete_oauth_registration (stytch.com/docs/api/delete-user-oauth-registration): the
    registration and its provider tokens forgotten; the User, without it."""
    row = await registrations.get_registration(ctx, registration_id)
    if row is None or row.user_id is None:
        raise errors.OAuthUserRegistrationNotFound()
    await registrations.delete(ctx, registration_id)
    await _list_providers(ctx, row.user_id)
    return await users.load(ctx, row.user_id)


def provider_entry(registration: Row[Any]) -> dict[str, Any]:
    profile = registration.profile or {}
    return {
        "provider_type": provider_type(registration.provider),
        "provider_subject": registration.provider_subject,
        "profile_picture_url": profile.get("picture") or "",
        "locale": profile.get("locale") or "",
        "oauth_user_registration_id": registration.registration_id,
    }


def provider_type(provider: str) -> str:
    """Stytch's spelling of the provider in `provider_type` ("Google", "Github", …)."""
    return {
        "github": "Github",
        "gitlab": "GitLab",
        "linkedin": "LinkedIn",
        "tiktok": "TikTok",
        "hubspot": "HubSpot",
    }.get(provider, provider.capitalize())


async def authenticate(
    ctx: Context,
    token: str,
    *,
    session_minutes: int | None,
    session_token: str | None,
    session_jwt: str | None,
    custom_claims: dict[str, Any] | None,
    code_verifier: str | None,
) -> Authenticated:
    """Redeem the `oauth` token (stytch.com/docs/api/oauth-authenticate): the user found or
    created, the provider registration and its tokens stored, a session when asked."""
    sessions.check_duration(session_minutes)
    if session_token and session_jwt:
        raise core_errors.TooManySessionArguments()
    found = sandbox.consult(ctx, sandbox_values.AUTHENTICATE, token=token)
    if found:
        return await _sandbox(ctx, session_minutes, session_token, session_jwt, custom_claims)
    async with ratelimit.attempts(ctx, token):
        row = await tokens.redeem(
            ctx, token, (CONSUMER_KIND,), used=errors.OAuthTokenNotFound, unknown=errors.UnknownOAuthToken
        )
        tokens.check_pkce(row, code_verifier)
    data = row.data or {}
    provider = data["provider"]
    profile = Profile.from_json(data["profile"])
    token_set = pending.CONSUMER.unseal(ctx, data)
    user, email_id = await _user_for(ctx, row, provider, profile)
    taken = await registrations.find_by_subject(ctx, provider, profile.subject)
    if taken is not None and taken.user_id != user.user_id:
        raise errors.OAuthUserRegistrationTaken()
    registration = await registrations.save(
        ctx, provider=provider, profile=profile, tokens=token_set, user_id=user.user_id
    )
    await _list_providers(ctx, user.user_id)
    user = await users.activate(ctx, user)
    user = await users.load(ctx, user.user_id)
    values = await registrations.provider_values(ctx, registration, refresh=False)
    done = Authenticated(user, registration, profile, provider, values, None, "", "")
    if session_minutes is None:
        return done
    factor = factors.of(provider).build(
        ctx.clock.now(),
        **{
            factors.detail_field(provider): {
                "id": registration.registration_id,
                "provider_subject": profile.subject,
                **({"email_id": email_id} if email_id else {}),
            }
        },
    )
    return await _logged_in(ctx, done, factor, session_minutes, session_token, session_jwt, custom_claims)


async def _sandbox(
    ctx: Context,
    minutes: int | None,
    session_token: str | None,
    session_jwt: str | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """The documented sandbox token logs the project's sandbox user in with a Google
    registration of its own (no provider is asked)."""
    user, email, _ = await sessions_sandbox.session(ctx)
    profile = Profile(subject="sandbox-google-subject", email=email.email, email_verified=True)
    empty = client.TokenSet("", "", "", ("openid", "email", "profile"), None)
    registration = await registrations.registration_of(ctx, "google", user.user_id)
    if registration is None:
        registration = await registrations.save(
            ctx, provider="google", profile=profile, tokens=empty, user_id=user.user_id
        )
    values = await registrations.provider_values(ctx, registration, refresh=False)
    done = Authenticated(user, registration, profile, "google", values, None, "", "")
    if minutes is None:
        return done
    factor = factors.of("google").build(
        ctx.clock.now(),
        google_oauth_factor={
            "id": registration.registration_id,
            "provider_subject": profile.subject,
            "email_id": email.email_id,
        },
    )
    return await _logged_in(ctx, done, factor, minutes, session_token, session_jwt, custom_claims)


async def _logged_in(
    ctx: Context,
    done: Authenticated,
    factor: dict[str, Any],
    minutes: int,
    session_token: str | None,
    session_jwt: str | None,
    custom_claims: dict[str, Any] | None,
) -> Authenticated:
    """The login with its session: started (or the named one extended) with the OAuth factor,
    its token and JWT; for oauth.authenticate and its sandbox alike."""
    session, issued = await sessions.start(
        ctx,
        "consumer",
        factor=factor,
        minutes=minutes,
        user_id=done.user.user_id,
        custom_claims=custom_claims,
        existing_token=session_token,
        existing_jwt=session_jwt,
    )
    return replace(done, session=session, session_token=issued, session_jwt=await sessions.user_jwt(ctx, session, []))


async def attach(
    ctx: Context, provider: str, *, user_id: str | None, session_token: str | None, session_jwt: str | None
) -> str:
    """An oauth_attach_token for the user named by id, session token or session JWT (exactly
    one), to pass to the provider's start route (stytch.com/docs/api/oauth-attach)."""
    registrations.provider_named(provider)
    named = [v for v in (user_id, session_token, session_jwt) if v]
    if len(named) != 1:
        raise core_errors.InvalidArgument("Pass exactly one of user_id, session_token and session_jwt.")
    if user_id:
        owner = (await users.load(ctx, user_id)).user_id
    else:
        found = await sessions.find(ctx, "consumer", token=session_token, session_jwt=session_jwt)
        owner = found.user_id
    token, _ = await tokens.issue(ctx, ATTACH_KIND, minutes=ATTACH_MINUTES, user_id=owner, data={"provider": provider})
    return token
