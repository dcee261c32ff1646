"""Consumer OAuth through the official SDK, against panva's oidc-provider on loopback playing
the providers: Google (OpenID Connect: ID token verified, nonce, hosted domain) and GitHub
(OAuth 2 only: its user endpoint's JSON emulated by the provider's userinfo claims). A browser
is a requests session following redirects and driving the provider's login and consent forms.

The start route, the shared callback, oauth.authenticate, oauth.attach, the refusals (state,
nonce, ID token, redirect URL, token reuse, another project's token, PKCE) and the provider
tokens' refresh."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import stytch

from keystile.core.context import Context, LazyConnection, public_project
from keystile.oauth import callback, registrations
from tests.flows import error_of, new_email, set_oauth_client
from tests.idp.oidc import Account, Client, OpenIDProvider, follow, start_oidc_provider
from tests.support import REDIRECT_URL, ProjectInfo, call


def endpoints(provider: OpenIDProvider) -> dict[str, str]:
    found = requests.get(provider.discovery_url, timeout=10).json()
    return {
        "authorize_url": found["authorization_endpoint"],
        "token_url": found["token_endpoint"],
        "userinfo_url": found["userinfo_endpoint"],
        "jwks_url": found["jwks_uri"],
    }


def callback_of(project: ProjectInfo) -> str:
    return callback.callback_url(project.server.state.settings, project.public_token)


def configure(project: ProjectInfo, provider: str, client: Client, **settings: Any) -> None:
    set_oauth_client(project, provider, client.client_id, client.client_secret, settings)


def google(project: ProjectInfo, idp: OpenIDProvider) -> Client:
    """The project's Google client, its endpoints pointed at the local provider."""
    client = idp.add_client(redirect_uris=[callback_of(project)], token_endpoint_auth_method="client_secret_post")
    configure(project, "google", client, issuer=idp.issuer, **endpoints(idp))
    return client


def start_url(project: ProjectInfo, provider: str = "google", **params: str) -> str:
    query = {"public_token": project.public_token, **params}
    return f"{project.server.base_url}v1/public/oauth/{provider}/start?{urlencode(query)}"


def log_in(idp: OpenIDProvider, url: str, account: Account | None, http: requests.Session | None = None) -> str:
    """The browser: start, sign in and consent at the provider, through the callback, to the
    app's redirect URL (returned)."""
    http = http or requests.Session()
    back = idp.sign_in(url, account, http=http)
    return follow(http, back, until="http://localhost:3000/")


def token_of(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    assert query["stytch_token_type"] == ["oauth"], url
    return query["token"][0]


def at_callback(
    idp: OpenIDProvider, project: ProjectInfo, account: Account, **params: str
) -> tuple[requests.Session, str]:
    """A browser signed in at the provider and sent back to keystile's callback (not followed)."""
    http = requests.Session()
    return http, idp.sign_in(start_url(project, **params), account, http=http)


# --- A full login, OpenID Connect (Google) ---


def test_google_login_creates_a_user_with_its_provider_and_a_session(consumer, project, oidc_provider):
    google(project, oidc_provider)
    email = new_email()
    ada = oidc_provider.add_account(email=email, name="Ada Lovelace", hd="acme.test", picture="https://p.test/ada.png")
    landed = log_in(oidc_provider, start_url(project), ada)
    assert landed.startswith(REDIRECT_URL)

    done = consumer.oauth.authenticate(token=token_of(landed), session_duration_minutes=60)
    assert done.provider_subject == ada.sub
    assert done.provider_type == "Google"
    assert done.provider_values.access_token and done.provider_values.id_token
    assert "openid" in done.provider_values.scopes
    assert done.user.emails[0].email == email and done.user.emails[0].verified
    assert done.user.name.first_name == "Ada" and done.user.name.last_name == "Lovelace"
    [registered] = done.user.providers
    assert registered.provider_subject == ada.sub
    assert registered.profile_picture_url == "https://p.test/ada.png"
    assert registered.oauth_user_registration_id == done.oauth_user_registration_id
    factor = done.user_session.authentication_factors[0]
    assert (factor.type, factor.delivery_method) == ("oauth", "oauth_google")
    assert factor.google_oauth_factor.provider_subject == ada.sub
    assert consumer.sessions.authenticate(session_token=done.session_token).user.user_id == done.user_id
    # users.get lists the provider too (kept on the user row).
    assert consumer.users.get(user_id=done.user_id).providers[0].provider_subject == ada.sub


def test_a_second_login_finds_the_same_user_through_the_login_url(consumer, project, oidc_provider):
    google(project, oidc_provider)
    signup = "http://localhost:3000/signup"
    from keystile.core.redirect_urls import RedirectType
    from tests.support import allow_redirect

    allow_redirect(project, signup, RedirectType.SIGNUP)
    ada = oidc_provider.add_account(email=new_email(), name="Ada")
    http = requests.Session()
    first = log_in(oidc_provider, start_url(project, signup_redirect_url=signup), ada, http)
    assert first.startswith(signup)
    user_id = consumer.oauth.authenticate(token=token_of(first)).user_id
    again = log_in(oidc_provider, start_url(project, signup_redirect_url=signup), None, http)
    assert again.startswith(REDIRECT_URL)
    done = consumer.oauth.authenticate(token=token_of(again))
    assert done.user_id == user_id and len(done.user.providers) == 1
    assert done.session_token == "" and done.user_session is None


def test_a_verified_address_logs_in_its_existing_user(consumer, project, oidc_provider):
    google(project, oidc_provider)
    email = new_email()
    existing = consumer.users.create(email=email).user_id
    landed = log_in(oidc_provider, start_url(project), oidc_provider.add_account(email=email))
    assert consumer.oauth.authenticate(token=token_of(landed)).user_id == existing


def test_an_unverified_address_does_not_log_in_its_owner(consumer, project, oidc_provider):
    google(project, oidc_provider)
    email = new_email()
    existing = consumer.users.create(email=email).user_id
    account = oidc_provider.add_account(email=email, email_verified=False)
    landed = log_in(oidc_provider, start_url(project), account)
    done = consumer.oauth.authenticate(token=token_of(landed))
    assert done.user_id != existing and done.user.emails == []


def test_custom_scopes_and_provider_params_reach_the_provider(project, oidc_provider):
    google(project, oidc_provider)
    url = start_url(project, custom_scopes="offline_access", provider_prompt="consent", provider_login_hint="x")
    resp = requests.get(url, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query["scope"] == ["openid email profile offline_access"]
    assert query["prompt"] == ["consent"] and query["login_hint"] == ["x"]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]
    assert query["redirect_uri"] == [callback_of(project)]


# --- PKCE between the app and keystile ---


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def test_pkce_code_verifier_is_required_and_checked(consumer, project, oidc_provider):
    google(project, oidc_provider)
    verifier, challenge = pkce()
    landed = log_in(
        oidc_provider, start_url(project, code_challenge=challenge), oidc_provider.add_account(email=new_email())
    )
    token = token_of(landed)
    assert error_of(lambda: consumer.oauth.authenticate(token=token)).error_type == "pkce_expected_code_verifier"
    assert (
        error_of(lambda: consumer.oauth.authenticate(token=token, code_verifier="wrong" * 9)).error_type
        == "pkce_mismatch"
    )
    assert consumer.oauth.authenticate(token=token, code_verifier=verifier).user_id


# --- Refusals ---


def test_the_token_works_once_and_only_in_its_project(consumer, project, other_project, oidc_provider):
    google(project, oidc_provider)
    token = token_of(log_in(oidc_provider, start_url(project), oidc_provider.add_account(email=new_email())))
    with requests.Session() as session:
        other = stytch.Client(
            other_project.project_id,
            other_project.secret,
            environment=other_project.server.base_url,
            sync_session=session,
        )
        assert error_of(lambda: other.oauth.authenticate(token=token)).error_type == "oauth_token_not_found"
    consumer.oauth.authenticate(token=token)
    assert error_of(lambda: consumer.oauth.authenticate(token=token)).error_type == "oauth_token_not_found"


def test_a_callback_in_another_browser_is_a_state_mismatch(project, oidc_provider):
    google(project, oidc_provider)
    _, back = at_callback(oidc_provider, project, oidc_provider.add_account(email=new_email()))
    resp = requests.get(back, allow_redirects=False, timeout=10)  # no cookie: another browser
    assert resp.status_code == 400 and resp.json()["error_type"] == "oauth_state_mismatch"


def test_a_callback_replayed_or_with_a_forged_state_is_refused(project, oidc_provider):
    google(project, oidc_provider)
    http, back = at_callback(oidc_provider, project, oidc_provider.add_account(email=new_email()))
    first = http.get(back, allow_redirects=False, timeout=10)
    assert first.status_code == 302 and first.headers["location"].startswith(REDIRECT_URL)
    again = http.get(back, allow_redirects=False, timeout=10)
    assert again.status_code == 400 and again.json()["error_type"] == "oauth_state_mismatch"
    forged = http.get(callback_of(project) + "?state=forged&code=x", allow_redirects=False, timeout=10)
    assert forged.status_code == 400 and forged.json()["error_type"] == "oauth_state_mismatch"


@pytest.mark.parametrize(
    "tampering",
    [
        {"nonce": "another-login"},
        {"nonce": None},
        {"iss": "https://accounts.example"},
        {"aud": "another-client"},
        {"exp": 1_000_000_000},
        {"alg": "none"},
    ],
    ids=["nonce", "no-nonce", "issuer", "audience", "expired", "alg-none"],
)
def test_an_id_token_that_is_not_this_logins_is_refused(project, oidc_provider, tampering):
    client = google(project, oidc_provider)
    claims = {k: v for k, v in tampering.items() if k != "alg"}
    oidc_provider.tamper(client, alg=tampering.get("alg"), **claims)
    http, back = at_callback(oidc_provider, project, oidc_provider.add_account(email=new_email()))
    resp = http.get(back, allow_redirects=False, timeout=10)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_type"] == "oauth_invalid_id_token"


def test_a_redirect_url_off_the_allow_list_is_refused_before_the_provider(project, oidc_provider):
    google(project, oidc_provider)
    resp = requests.get(
        start_url(project, login_redirect_url="https://evil.example/cb"), allow_redirects=False, timeout=10
    )
    assert resp.status_code == 400 and "redirect_url" in resp.json()["error_type"]


def test_start_refuses_unknown_providers_public_tokens_and_unconfigured_clients(project):
    resp = requests.get(start_url(project, provider="myspace"), allow_redirects=False, timeout=10)
    assert resp.status_code == 400 and resp.json()["error_type"] == "invalid_oauth_provider"
    resp = requests.get(start_url(project, provider="discord"), allow_redirects=False, timeout=10)
    assert resp.status_code == 404 and resp.json()["error_type"] == "oauth_config_not_found"
    bad = f"{project.server.base_url}v1/public/oauth/google/start?public_token=public-token-test-nope"
    resp = requests.get(bad, allow_redirects=False, timeout=10)
    assert resp.status_code == 401 and resp.json()["error_type"] == "invalid_public_token"


def test_a_login_refused_at_the_provider_says_so(project, oidc_provider):
    google(project, oidc_provider)
    http = requests.Session()
    back = oidc_provider.sign_in(
        start_url(project), oidc_provider.add_account(email=new_email()), http=http, consent=False
    )
    resp = http.get(back, allow_redirects=False, timeout=10)
    assert resp.status_code == 400 and resp.json()["error_type"] == "oauth_provider_error"


# --- Attach ---


def test_attach_links_a_provider_account_to_an_existing_user(consumer, project, oidc_provider):
    google(project, oidc_provider)
    user_id = consumer.users.create(email=new_email()).user_id
    attach_token = consumer.oauth.attach(provider="google", user_id=user_id).oauth_attach_token
    # A different address at the provider: only the attach token says whose account this is.
    account = oidc_provider.add_account(email=new_email())
    landed = log_in(oidc_provider, start_url(project, oauth_attach_token=attach_token), account)
    assert landed.startswith(REDIRECT_URL)
    done = consumer.oauth.authenticate(token=token_of(landed), session_duration_minutes=30)
    assert done.user_id == user_id and done.user.providers[0].provider_subject == account.sub
    # Spent: a second start with it is refused.
    resp = requests.get(start_url(project, oauth_attach_token=attach_token), allow_redirects=False, timeout=10)
    assert resp.status_code == 404 and resp.json()["error_type"] == "oauth_attach_token_not_found"


def test_attach_by_session_and_its_refusals(consumer, project, oidc_provider):
    google(project, oidc_provider)
    landed = log_in(oidc_provider, start_url(project), oidc_provider.add_account(email=new_email()))
    session = consumer.oauth.authenticate(token=token_of(landed), session_duration_minutes=30)
    assert consumer.oauth.attach(provider="github", session_token=session.session_token).oauth_attach_token
    assert consumer.oauth.attach(provider="github", session_jwt=session.session_jwt).oauth_attach_token
    token = consumer.oauth.attach(provider="github", user_id=session.user_id).oauth_attach_token
    # An attach token is for its provider only.
    resp = requests.get(start_url(project, oauth_attach_token=token), allow_redirects=False, timeout=10)
    assert resp.status_code == 404 and resp.json()["error_type"] == "oauth_attach_token_not_found"
    assert error_of(lambda: consumer.oauth.attach(provider="google")).error_type == "invalid_argument"
    assert error_of(lambda: consumer.oauth.attach(provider="nope", user_id=session.user_id)).error_type == (
        "invalid_oauth_provider"
    )
    assert error_of(lambda: consumer.oauth.attach(provider="google", user_id="user-test-nobody")).error_type == (
        "user_not_found"
    )


# --- Provider tokens: stored sealed, refreshed when expired ---


async def _ctx(project: ProjectInfo) -> Context:
    """A request context for the project, its own clock included (as a request would have)."""
    state = project.server.state
    found = await public_project(state.db, project.public_token)
    assert found is not None
    return Context(state=state, conn=LazyConnection(state.db), project=found, request_id="test")


def provider_values(project: ProjectInfo, user_id: str) -> registrations.ProviderValues:
    async def work() -> registrations.ProviderValues:
        ctx = await _ctx(project)
        try:
            row = await registrations.registration_of(ctx, "google", user_id)
            assert row is not None
            return await registrations.provider_values(ctx, row)
        finally:
            await ctx.conn.end(None)

    return project.server.run(work())


def stored_columns(project: ProjectInfo, user_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    from keystile.models.oauth import oauth_registrations

    async def work() -> dict[str, Any]:
        async with project.server.state.transaction() as conn:
            row = (
                await conn.execute(select(oauth_registrations).where(oauth_registrations.c.user_id == user_id))
            ).one()
            return dict(row._mapping)

    return project.server.run(work())


def test_provider_tokens_are_sealed_and_refreshed_once_expired(consumer, project, oidc_provider):
    google(project, oidc_provider)
    url = start_url(project, custom_scopes="offline_access", provider_prompt="consent")
    landed = log_in(oidc_provider, url, oidc_provider.add_account(email=new_email()))
    done = consumer.oauth.authenticate(token=token_of(landed))
    first = done.provider_values
    assert first.refresh_token and first.expires_at is not None
    stored = stored_columns(project, done.user_id)
    assert first.access_token not in str(stored) and first.refresh_token not in str(stored)
    # Not expired: the same tokens.
    assert provider_values(project, done.user_id).access_token == first.access_token
    # An hour and more later, the access token is refreshed at the provider's token endpoint.
    resp = call(project, "POST", "/dev/clock/advance", json={"seconds": 2 * 3600})
    assert resp.status_code == 200, resp.text
    fresh = provider_values(project, done.user_id)
    assert fresh.access_token != first.access_token
    assert fresh.expires_at is not None and fresh.expires_at > first.expires_at
    assert fresh.refresh_token  # kept or rotated
    assert provider_values(project, done.user_id).access_token == fresh.access_token


def test_concurrent_reads_of_an_expired_token_refresh_it_once(consumer, project, oidc_provider):
    import asyncio

    google(project, oidc_provider)
    url = start_url(project, custom_scopes="offline_access", provider_prompt="consent")
    done = consumer.oauth.authenticate(
        token=token_of(log_in(oidc_provider, url, oidc_provider.add_account(email=new_email())))
    )
    assert call(project, "POST", "/dev/clock/advance", json={"seconds": 2 * 3600}).status_code == 200

    async def read() -> str:
        ctx = await _ctx(project)
        try:
            row = await registrations.registration_of(ctx, "google", done.user_id)
            assert row is not None
            return (await registrations.provider_values(ctx, row)).access_token
        finally:
            await ctx.conn.end(None)

    async def together() -> list[str]:
        return list(await asyncio.gather(*(read() for _ in range(4))))

    tokens = project.server.run(together())
    # One refresh: every reader gets the one new access token (a second refresh of the rotated
    # refresh token would have been refused by the provider).
    assert len(set(tokens)) == 1 and tokens[0] != done.provider_values.access_token


# --- A provider without OpenID Connect: GitHub ---


@pytest.fixture(scope="module")
def github_idp() -> Iterator[OpenIDProvider]:
    """An OpenID provider whose userinfo speaks GitHub's GET /user (id, login, avatar_url)."""
    with start_oidc_provider(extra_claims=("id", "avatar_url")) as running:
        yield running


def test_github_login_reads_its_user_endpoint(consumer, project, github_idp):
    client = github_idp.add_client(
        redirect_uris=[callback_of(project)], token_endpoint_auth_method="client_secret_post"
    )
    found = endpoints(github_idp)
    configure(
        project,
        "github",
        client,
        authorize_url=found["authorize_url"],
        token_url=found["token_url"],
        userinfo_url=found["userinfo_url"],
        emails_url="",
        scopes=["openid", "email", "profile"],
    )
    email = new_email()
    octo = github_idp.add_account(
        email=email, name="Mona Octocat", id=583231, login="octocat", avatar_url="https://avatars.test/583231"
    )
    landed = log_in(github_idp, start_url(project, provider="github"), octo)
    done = consumer.oauth.authenticate(token=token_of(landed), session_duration_minutes=30)
    assert done.provider_type == "Github" and done.provider_subject == "583231"
    assert done.user.providers[0].profile_picture_url == "https://avatars.test/583231"
    # GitHub's GET /user email is not proof of ownership (the verified one is in /user/emails).
    assert done.user.emails[0].email == email and not done.user.emails[0].verified
    assert done.user_session.authentication_factors[0].delivery_method == "oauth_github"
    assert done.user_session.authentication_factors[0].github_oauth_factor.provider_subject == "583231"


def test_the_token_is_spent_once_when_two_redeem_it_together(consumer, project, oidc_provider):
    from concurrent.futures import ThreadPoolExecutor

    google(project, oidc_provider)
    token = token_of(log_in(oidc_provider, start_url(project), oidc_provider.add_account(email=new_email())))

    def redeem() -> str:
        with requests.Session() as session:
            client = stytch.Client(
                project.project_id, project.secret, environment=project.server.base_url, sync_session=session
            )
            try:
                return client.oauth.authenticate(token=token).user_id
            except stytch.core.response_base.StytchError as exc:
                return exc.details.error_type

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: redeem(), range(4)))
    assert sorted(a == "oauth_token_not_found" for a in answers) == [False, True, True, True], answers


def test_a_state_is_only_its_projects(project, other_project, oidc_provider):
    google(project, oidc_provider)
    http, back = at_callback(oidc_provider, project, oidc_provider.add_account(email=new_email()))
    elsewhere = back.replace(project.public_token, other_project.public_token)
    resp = http.get(elsewhere, allow_redirects=False, timeout=10)
    assert resp.status_code == 400 and resp.json()["error_type"] == "oauth_state_mismatch"


def test_hostile_fields_at_the_start_and_the_callback_are_4xx(project, oidc_provider):
    google(project, oidc_provider)
    url = callback_of(project)
    for body in ("state=%00&code=x", "state=" + "a" * 100_000, "state=%ED%A0%80&code=%FF", "user=%7Bnot-json"):
        resp = requests.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
        assert resp.status_code == 400 and resp.json()["error_type"] == "oauth_state_mismatch", (body, resp.text)
    for query in ("custom_scopes=%00", "provider_prompt=" + "b" * 100_000, "login_redirect_url=%ED%A0%80"):
        resp = requests.get(start_url(project) + "&" + query, allow_redirects=False, timeout=10)
        assert 400 <= resp.status_code < 500, (query, resp.text)


def test_delete_oauth_registration_forgets_the_provider_account(consumer, project, other_project, oidc_provider):
    google(project, oidc_provider)
    account = oidc_provider.add_account(email=new_email())
    http = requests.Session()
    done = consumer.oauth.authenticate(token=token_of(log_in(oidc_provider, start_url(project), account, http)))
    registration_id = done.oauth_user_registration_id
    with requests.Session() as session:
        other = stytch.Client(
            other_project.project_id,
            other_project.secret,
            environment=other_project.server.base_url,
            sync_session=session,
        )
        refused = error_of(lambda: other.users.delete_oauth_registration(oauth_user_registration_id=registration_id))
        assert refused.error_type == "oauth_user_registration_not_found"
    deleted = consumer.users.delete_oauth_registration(oauth_user_registration_id=registration_id)
    assert deleted.user_id == done.user_id and deleted.user.providers == []
    again = error_of(lambda: consumer.users.delete_oauth_registration(oauth_user_registration_id=registration_id))
    assert again.error_type == "oauth_user_registration_not_found"
    # The provider account logs in again as the same User, through its verified address.
    back = consumer.oauth.authenticate(token=token_of(log_in(oidc_provider, start_url(project), None, http)))
    assert back.user_id == done.user_id and back.oauth_user_registration_id != registration_id


def test_apple_posts_the_code_back_to_the_callback(consumer, project, oidc_provider):
    """Apple answers with `response_mode=form_post`: the provider's page posts the code and
    state to the callback, cookie and all (the local provider does the same)."""
    client = oidc_provider.add_client(
        redirect_uris=[callback_of(project)], token_endpoint_auth_method="client_secret_post"
    )
    configure(
        project, "apple", client, issuer=oidc_provider.issuer, scopes=["openid", "email"], **endpoints(oidc_provider)
    )
    account = oidc_provider.add_account(email=new_email())
    landed = oidc_provider.sign_in(start_url(project, provider="apple"), account, http=requests.Session())
    assert landed.startswith(REDIRECT_URL), landed
    done = consumer.oauth.authenticate(token=token_of(landed))
    assert done.provider_type == "Apple" and done.provider_subject == account.sub
