"""The browser's side of every OAuth login: the start (`begin`) that sends the browser to the
provider, and the one callback the provider sends it back to (`finish`), shared by consumer,
B2B and discovery logins.

    start route (routes_consumer.py, routes_b2b.py)
      → begin(ctx, provider, flow=…, data={…}, …)    state token + browser cookie, authorize URL
    provider (login, consent)
      → GET|POST /v1/oauth/callback/{public_token}  (routes_callback.py)
      → finish(...)                                  state checked against the cookie and spent,
                                                     code + PKCE exchanged, ID token verified
                                                     (OIDC), the person read (providers.py)
      → FLOWS[state.data["flow"]](ctx, state, login) the flow's own ending: a URL of the app's
                                                     with `stytch_token_type` and a token

A flow registers its ending with `@flow("name")` (service_consumer.py registers "consumer");
the dispatch is on the `flow` the start wrote into the state, never on anything the callback's
request says.

`state` is a single-use token (core/tokens.py, kind `oauth_state`, 10 minutes) whose row keeps
the flow's data; it is bound to the browser that started the login by a cookie holding a
random value whose hash the row keeps, so a callback URL replayed in another browser (login
CSRF) is refused. The PKCE verifier toward the provider is sealed with the master key in the
row; the `nonce` sent to an OpenID provider must come back in its ID token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy.engine import Row

from keystile import errors as core_errors
from keystile.core import crypto, tokens
from keystile.core import emails as email_rules
from keystile.core.context import Context, LazyConnection, public_project
from keystile.core.schemas import MAX_STRING, unstorable_reason
from keystile.oauth import client, errors, registrations
from keystile.oauth.providers import Profile, ProfileError

if TYPE_CHECKING:
    from keystile.config import Settings
    from keystile.core.state import AppState

STATE_KIND = "oauth_state"
STATE_MINUTES = 10
CALLBACK_PATH = "/v1/oauth/callback/{public_token}"
COOKIE_PREFIX = "keystile_oauth_"
MAX_SUBJECT = 255  # oauth_registrations.provider_subject
# Parameters of the authorize request that a caller's `provider_*` parameters cannot replace.
RESERVED = frozenset(
    {
        "response_type",
        "client_id",
        "client_key",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "scope",
    }
)


def callback_url(settings: Settings, public_token: str) -> str:
    """The redirect URI to register at every provider: one per project."""
    return settings.base_url + CALLBACK_PATH.format(public_token=public_token).lstrip("/")


def cookie_name(state: str) -> str:
    """One cookie per login, so two logins in two tabs of one browser do not clobber each other."""
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@asynccontextmanager
async def public_context(state: AppState, public_token: str, request_id: str) -> AsyncIterator[Context]:
    """A request Context for the project of a public token (browser-facing routes carry no
    secret), in its own transaction, committed when the block succeeds. An unknown token is
    `invalid_public_token`."""
    project = await public_project(state.db, public_token) if public_token else None
    if project is None:
        raise errors.InvalidPublicToken()
    conn = LazyConnection(state.db)
    ctx = Context(state=state, conn=conn, project=project, request_id=request_id)
    try:
        yield ctx
    except BaseException as exc:
        await conn.end(exc)
        raise
    await conn.end(None)


@dataclass(frozen=True)
class Login:
    """What the callback learned: the provider, the person, and the provider's tokens."""

    provider: str
    profile: Profile
    tokens: client.TokenSet


Ending = Callable[[Context, Row[Any], Login], Awaitable[str]]
FLOWS: dict[str, Ending] = {}


def flow(name: str) -> Callable[[Ending], Ending]:
    """Register the ending of a flow: (ctx, state row, login) → the app's URL to redirect to."""

    def register(ending: Ending) -> Ending:
        if name in FLOWS:
            raise ValueError(f"two OAuth flows named {name!r}")
        FLOWS[name] = ending
        return ending

    return register


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and the cookie that binds the login to it."""

    authorize_url: str
    cookie_name: str
    cookie_value: str
    secure: bool


def _scopes(defaults: tuple[str, ...], custom: str | None) -> list[str]:
    scopes = list(defaults)
    for scope in (custom or "").replace(",", " ").split():
        if scope not in scopes:
            scopes.append(scope)
    return scopes


async def begin(
    ctx: Context,
    provider_name: str,
    *,
    flow_name: str,
    data: Mapping[str, Any],
    custom_scopes: str | None = None,
    provider_params: Mapping[str, str] | None = None,
    pkce_challenge: str | None = None,
    user_id: str | None = None,
    member_id: str | None = None,
    organization_id: str | None = None,
) -> Started:
    """Start a login at a provider for `flow_name`: issue the state (keeping `data` for the
    flow's ending, the app's PKCE `pkce_challenge` for its token) and build the authorize URL."""
    if flow_name not in FLOWS:
        raise ValueError(f"no OAuth flow {flow_name!r}")
    oauth = await registrations.client_for(ctx, provider_name)
    provider = oauth.provider
    browser = crypto.new_token()
    nonce = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    scopes = _scopes(provider.scopes, custom_scopes)
    state, _ = await tokens.issue(
        ctx,
        STATE_KIND,
        minutes=STATE_MINUTES,
        user_id=user_id,
        member_id=member_id,
        organization_id=organization_id,
        pkce_challenge=pkce_challenge,
        data={
            **data,
            "flow": flow_name,
            "provider": provider_name,
            "browser": _digest(browser),
            "nonce": nonce,
            "scopes": scopes,
            "verifier": ctx.state.keyring.master.seal(f"oauth-state:{ctx.project_id}:{nonce}", verifier),
        },
    )
    params: dict[str, str] = dict(provider.authorize_params)
    params.update({k: v for k, v in (provider_params or {}).items() if k not in RESERVED})
    params.update(
        {
            "response_type": "code",
            provider.client_id_param: oauth.client_id,
            "redirect_uri": callback_url(ctx.state.settings, ctx.project.public_token),
            "scope": provider.scope_separator.join(scopes),
            "state": state,
            "code_challenge": crypto.pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    if provider.oidc:
        params["nonce"] = nonce
    separator = "&" if "?" in provider.authorize_url else "?"
    return Started(
        authorize_url=provider.authorize_url + separator + urlencode(params),
        cookie_name=cookie_name(state),
        cookie_value=browser,
        secure=ctx.state.settings.base_url.startswith("https://"),
    )


async def take_state(ctx: Context, state: str | None, cookies: Mapping[str, str]) -> Row[Any]:
    """Check the callback's `state` against the browser's cookie, then spend it (once)."""
    if not state:
        raise errors.OAuthStateMismatch("The callback carries no state.")
    row = await tokens.peek(ctx, state, (STATE_KIND,), missing=errors.UnknownOAuthState)
    presented = cookies.get(cookie_name(state)) or ""
    if not hmac.compare_digest(_digest(presented), str((row.data or {}).get("browser", ""))):
        raise errors.OAuthStateMismatch()
    return await tokens.redeem(
        ctx, state, (STATE_KIND,), used=errors.UnknownOAuthState, unknown=errors.UnknownOAuthState
    )


async def identify(
    ctx: Context, state_row: Row[Any], oauth: client.Client, *, code: str | None, form: Mapping[str, str]
) -> Login:
    """Exchange the code (with PKCE), verify the ID token (OIDC), and read the person. Makes
    HTTP requests to the provider and none to the database: call it with `ctx` closed, so
    that no transaction (on SQLite, the write lock) is held while the provider answers;
    `oauth` is `registrations.client_for`'s, read before."""
    data = state_row.data or {}
    provider_name = data["provider"]
    if not code:
        raise errors.OAuthProviderError(f"{provider_name} sent no authorization code.")
    now = ctx.clock.now()
    verifier = ctx.state.keyring.master.unseal(f"oauth-state:{ctx.project_id}:{data['nonce']}", data["verifier"])
    scopes = tuple(data.get("scopes") or oauth.provider.scopes)
    try:
        token_set = await client.exchange_code(
            oauth,
            code=code,
            redirect_uri=callback_url(ctx.state.settings, ctx.project.public_token),
            code_verifier=verifier,
            now=now,
            scopes=scopes,
        )
        claims = None
        if oauth.provider.oidc:
            if not token_set.id_token:
                raise errors.InvalidIdToken(f"{provider_name} answered without an ID token.")
            claims = await client.verify_id_token(oauth, token_set.id_token, nonce=data["nonce"], now=now)
        found = await client.answers(oauth, token_set, claims)
    except client.InvalidIdToken as exc:
        raise errors.InvalidIdToken(str(exc)) from None
    except client.ProviderFailed as exc:
        raise errors.OAuthProviderError(str(exc)) from None
    if form.get("user"):
        with suppress(ValueError):
            found["apple_user"] = json.loads(form["user"])
    try:
        profile = clean(oauth.provider.read(found))
    except ProfileError as exc:
        raise errors.OAuthProviderError(f"{provider_name}: {exc}") from None
    return Login(provider_name, profile, token_set)


def clean(profile: Profile) -> Profile:
    """What a provider says, made storable: a subject that cannot be stored names nobody; an
    address that is not one is dropped; a text too long or unstorable is left out."""
    if len(profile.subject) > MAX_SUBJECT or unstorable_reason(profile.subject) is not None:
        raise ProfileError("the provider's subject cannot be stored")

    def text(value: str) -> str:
        return value if len(value) <= MAX_STRING and unstorable_reason(value) is None else ""

    email = text(profile.email or "") or None
    if email is not None:
        try:
            email_rules.validate(email)
        except core_errors.InvalidEmail:
            email = None
    return replace(
        profile,
        email=email,
        email_verified=profile.email_verified and email is not None,
        first_name=text(profile.first_name),
        last_name=text(profile.last_name),
        name=text(profile.name),
        picture=text(profile.picture),
        locale=text(profile.locale),
        tenants=tuple(t for t in profile.tenants if text(t)),
        tenant=text(profile.tenant or "") or None,
    )
