"""B2B OAuth through the official SDK, against panva's oidc-provider on loopback playing
Google and Microsoft (OpenID Connect: ID token verified, nonce, hosted domain `hd`, tenant
`tid`). A browser is a requests session following redirects and driving the provider's login
and consent forms.

Organization login (JIT by email domain and by tenant, allowed and refused; an existing
Member; MFA; allowed auth methods; PKCE), discovery login (intermediate session, organizations
listed by membership and by tenant, exchange), a Member's provider tokens (refreshed once
expired), and another project's token refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from keystile.core.redirect_urls import RedirectType
from keystile.oauth import callback
from tests.flows import error_of, new_email, new_slug, pkce_pair, set_oauth_client
from tests.idp.oidc import Account, Client, OpenIDProvider, follow, start_oidc_provider
from tests.support import REDIRECT_URL, Inbox, ProjectInfo, allow_redirect, call

APP = "http://localhost:3000/"


def endpoints(idp: OpenIDProvider) -> dict[str, str]:
    found = requests.get(idp.discovery_url, timeout=10).json()
    return {
        "issuer": idp.issuer,
        "authorize_url": found["authorization_endpoint"],
        "token_url": found["token_endpoint"],
        "userinfo_url": found["userinfo_endpoint"],
        "jwks_url": found["jwks_uri"],
    }


def configure(project: ProjectInfo, provider: str, idp: OpenIDProvider, **settings: Any) -> Client:
    """The project's client at `provider`, its endpoints pointed at the local OpenID provider
    (or as `settings` say)."""
    server = project.server
    client = idp.add_client(
        redirect_uris=[callback.callback_url(server.state.settings, project.public_token)],
        token_endpoint_auth_method="client_secret_post",
    )
    set_oauth_client(project, provider, client.client_id, client.client_secret, settings or endpoints(idp))
    return client


def start_url(project: ProjectInfo, provider: str = "google", *, discovery: bool = False, **params: str) -> str:
    query = {"public_token": project.public_token, **params}
    path = f"v1/b2b/public/oauth/{provider}/{'discovery/' if discovery else ''}start"
    return f"{project.server.base_url}{path}?{urlencode(query)}"


def log_in(idp: OpenIDProvider, url: str, account: Account | None, http: requests.Session | None = None) -> str:
    """The browser: start, sign in and consent at the provider, through keystile's callback,
    to the app's redirect URL (returned)."""
    http = http or requests.Session()
    back = idp.sign_in(url, account, http=http)
    return follow(http, back, until=APP)


def token_of(url: str, kind: str = "oauth") -> str:
    query = parse_qs(urlsplit(url).query)
    assert query["stytch_token_type"] == [kind], url
    return query["token"][0]


def latest_code(inbox: Inbox, email: str) -> str:
    found = re.search(r"\b(\d{6})\b", inbox.latest(email)["text"])
    assert found, "no code in the email"
    return found.group(1)


def org(b2b: Any, **settings: Any) -> Any:
    return b2b.organizations.create(organization_name="Acme", organization_slug=new_slug(), **settings).organization


def jit_org(b2b: Any, domain: str = "acme.test", **settings: Any) -> Any:
    return org(b2b, email_allowed_domains=[domain], email_jit_provisioning="RESTRICTED", **settings)


def oauth_login(
    b2b: Any,
    project: ProjectInfo,
    idp: OpenIDProvider,
    organization: Any,
    account: Account,
    provider: str = "google",
    **auth: Any,
) -> Any:
    landed = log_in(idp, start_url(project, provider, organization_id=organization.organization_id), account)
    return b2b.oauth.authenticate(oauth_token=token_of(landed), **auth)


# --- Organization login ---


def test_google_login_provisions_a_member_by_email_domain(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    acme = jit_org(b2b)
    email = new_email()
    ada = oidc_provider.add_account(email=email, name="Ada Lovelace", hd="acme.test", picture="https://p.test/a.png")
    landed = log_in(oidc_provider, start_url(project, organization_id=acme.organization_id), ada)
    assert landed.startswith(REDIRECT_URL)
    assert parse_qs(urlsplit(landed).query)["slug"] == [acme.organization_slug]

    done = b2b.oauth.authenticate(oauth_token=token_of(landed), session_duration_minutes=60)
    assert done.member_authenticated and done.session_token
    assert done.member.email_address == email and done.member.status == "active"
    assert done.member.email_address_verified and done.member.name == "Ada Lovelace"
    assert (done.provider_type, done.provider_subject) == ("Google", ada.sub)
    assert done.provider_values.access_token and done.provider_values.id_token
    assert "openid" in done.provider_values.scopes
    [registration] = done.member.oauth_registrations
    assert (registration.provider_type, registration.provider_subject) == ("Google", ada.sub)
    assert registration.profile_picture_url == "https://p.test/a.png"
    factor = done.member_session.authentication_factors[0]
    assert (factor.type, factor.delivery_method) == ("oauth", "oauth_google")
    assert factor.google_oauth_factor.provider_subject == ada.sub
    assert factor.google_oauth_factor.id == registration.member_oauth_registration_id
    # The session is a session like any other, and the Member lists the registration everywhere.
    again = b2b.sessions.authenticate(session_token=done.session_token)
    assert again.member.oauth_registrations[0].provider_subject == ada.sub
    got = b2b.organizations.members.get(organization_id=acme.organization_id, member_id=done.member_id)
    assert got.member.oauth_registrations[0].member_oauth_registration_id == registration.member_oauth_registration_id


def test_a_new_member_signs_up_and_an_active_one_logs_in_by_slug(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    signup, login = "http://localhost:3000/signup", "http://localhost:3000/login"
    allow_redirect(project, signup, RedirectType.SIGNUP)
    allow_redirect(project, login, RedirectType.LOGIN)
    acme = jit_org(b2b)
    ada = oidc_provider.add_account(email=new_email())
    http = requests.Session()
    url = start_url(project, slug=acme.organization_slug, signup_redirect_url=signup, login_redirect_url=login)
    first = log_in(oidc_provider, url, ada, http)
    assert first.startswith(signup)
    member_id = b2b.oauth.authenticate(oauth_token=token_of(first)).member_id
    second = log_in(oidc_provider, url, None, http)  # signed in at the provider already
    assert second.startswith(login)
    done = b2b.oauth.authenticate(oauth_token=token_of(second))
    assert done.member_id == member_id and len(done.member.oauth_registrations) == 1


def test_an_existing_member_is_found_by_email(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    acme = org(b2b)  # no JIT at all
    email = new_email()
    member = b2b.organizations.members.create(organization_id=acme.organization_id, email_address=email).member
    done = oauth_login(b2b, project, oidc_provider, acme, oidc_provider.add_account(email=email))
    assert done.member_id == member.member_id and done.member_authenticated


def test_a_member_of_another_domain_is_refused_without_jit(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    acme = jit_org(b2b)
    landed = log_in(
        oidc_provider,
        start_url(project, organization_id=acme.organization_id),
        oidc_provider.add_account(email=new_email(domain="elsewhere.test")),
    )
    caught = error_of(lambda: b2b.oauth.authenticate(oauth_token=token_of(landed)))
    assert (caught.status_code, caught.error_type) == (403, "email_jit_provisioning_not_allowed")
    members = b2b.organizations.members.search(organization_ids=[acme.organization_id]).members
    assert len(members) == 0


def test_microsoft_tenant_jit_allows_its_tenant_and_refuses_another(b2b, project, oidc_provider):
    configure(project, "microsoft", oidc_provider)
    acme = org(b2b, oauth_tenant_jit_provisioning="RESTRICTED", allowed_oauth_tenants={"microsoft": ["tenant-a"]})
    inside = oidc_provider.add_account(email=new_email(domain="contoso.test"), tid="tenant-a")
    done = oauth_login(b2b, project, oidc_provider, acme, inside, "microsoft", session_duration_minutes=30)
    assert done.member_authenticated and done.provider_type == "Microsoft"
    assert done.member_session.authentication_factors[0].delivery_method == "oauth_microsoft"

    outside = oidc_provider.add_account(email=new_email(domain="contoso.test"), tid="tenant-b")
    caught = error_of(lambda: oauth_login(b2b, project, oidc_provider, acme, outside, "microsoft"))
    assert (caught.status_code, caught.error_type) == (403, "oauth_tenant_jit_provisioning_not_allowed")


def test_an_organization_requiring_mfa_answers_with_an_intermediate_session(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    acme = jit_org(b2b, mfa_policy="REQUIRED_FOR_ALL")
    ada = oidc_provider.add_account(email=new_email())
    done = oauth_login(b2b, project, oidc_provider, acme, ada, session_duration_minutes=60)
    assert not done.member_authenticated and done.session_token == "" and done.member_session is None
    assert done.intermediate_session_token and done.mfa_required is not None
    # The intermediate session is this Member's: a TOTP enrolment on it completes the login.
    totp = b2b.totps.create(organization_id=acme.organization_id, member_id=done.member_id)
    import pyotp

    code = pyotp.TOTP(totp.secret).now()
    session = b2b.totps.authenticate(
        organization_id=acme.organization_id,
        member_id=done.member_id,
        code=code,
        intermediate_session_token=done.intermediate_session_token,
    )
    kinds = [(f.type, f.delivery_method) for f in session.member_session.authentication_factors]
    assert kinds == [("oauth", "oauth_google"), ("totp", "authenticator_app")]


def test_restricted_auth_methods_ask_for_another_primary_method(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    acme = jit_org(b2b, auth_methods="RESTRICTED", allowed_auth_methods=["magic_link"])
    done = oauth_login(b2b, project, oidc_provider, acme, oidc_provider.add_account(email=new_email()))
    assert not done.member_authenticated and done.intermediate_session_token
    assert done.primary_required.allowed_auth_methods == ["magic_link"]
    assert done.member_session is None


def test_pkce_binds_the_token_to_the_app_that_started(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    acme = jit_org(b2b)
    verifier, challenge = pkce_pair()
    url = start_url(project, organization_id=acme.organization_id, pkce_code_challenge=challenge)
    token = token_of(log_in(oidc_provider, url, oidc_provider.add_account(email=new_email())))
    assert error_of(lambda: b2b.oauth.authenticate(oauth_token=token)).error_type == "pkce_expected_code_verifier"
    assert error_of(lambda: b2b.oauth.authenticate(oauth_token=token, pkce_code_verifier="x" * 43)).error_type == (
        "pkce_mismatch"
    )
    assert b2b.oauth.authenticate(oauth_token=token, pkce_code_verifier=verifier).member_authenticated


def test_the_token_is_single_use_and_unknown_to_another_project(b2b, project, other_project, oidc_provider):
    import stytch

    configure(project, "google", oidc_provider)
    acme = jit_org(b2b)
    url = start_url(project, organization_id=acme.organization_id)
    token = token_of(log_in(oidc_provider, url, oidc_provider.add_account(email=new_email())))
    other = stytch.B2BClient(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
    assert error_of(lambda: other.oauth.authenticate(oauth_token=token)).error_type == "oauth_token_not_found"
    assert b2b.oauth.authenticate(oauth_token=token).member_authenticated
    assert error_of(lambda: b2b.oauth.authenticate(oauth_token=token)).error_type == "oauth_token_not_found"


def test_start_refuses_an_unknown_organization_a_redirect_url_off_the_list_and_a_consumer_provider(
    b2b, project, oidc_provider
):
    configure(project, "google", oidc_provider)
    acme = org(b2b)

    def started(url: str) -> requests.Response:
        return requests.get(url, allow_redirects=False, timeout=10)

    assert started(start_url(project, organization_id="organization-test-nope")).json()["error_type"] == (
        "organization_not_found"
    )
    off = started(start_url(project, organization_id=acme.organization_id, login_redirect_url="https://evil.test/"))
    assert off.status_code == 400 and "redirect" in off.json()["error_type"]
    assert started(start_url(project, "discord", organization_id=acme.organization_id)).json()["error_type"] == (
        "invalid_oauth_provider"
    )
    assert started(start_url(project)).status_code == 400  # neither organization_id nor slug
    ok = started(start_url(project, organization_id=acme.organization_id, provider_login_hint="ada@acme.test"))
    assert ok.status_code in (302, 303, 307)
    assert parse_qs(urlsplit(ok.headers["location"]).query)["login_hint"] == ["ada@acme.test"]


# --- Discovery ---


def test_discovery_lists_memberships_and_tenant_organizations_then_exchanges(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    email = new_email(domain="initech.test")
    mine = org(b2b)
    b2b.organizations.members.create(organization_id=mine.organization_id, email_address=email)
    by_tenant = org(b2b, oauth_tenant_jit_provisioning="RESTRICTED", allowed_oauth_tenants={"google": ["initech.test"]})
    org(b2b, oauth_tenant_jit_provisioning="RESTRICTED", allowed_oauth_tenants={"google": ["other.test"]})
    ada = oidc_provider.add_account(email=email, name="Ada Lovelace", hd="initech.test")
    landed = log_in(oidc_provider, start_url(project, discovery=True), ada)
    assert landed.startswith(REDIRECT_URL)

    found = b2b.oauth.discovery.authenticate(discovery_oauth_token=token_of(landed, "discovery_oauth"))
    assert found.email_address == email and found.full_name == "Ada Lovelace"
    assert (found.provider_type, found.provider_tenant_id, found.provider_tenant_ids) == (
        "Google",
        "initech.test",
        ["initech.test"],
    )
    listed = {d.organization.organization_id: d.membership.type for d in found.discovered_organizations}
    assert listed == {
        mine.organization_id: "active_member",
        by_tenant.organization_id: "eligible_to_join_by_oauth_tenant",
    }

    joined = b2b.discovery.intermediate_sessions.exchange(
        intermediate_session_token=found.intermediate_session_token, organization_id=by_tenant.organization_id
    )
    assert joined.member_authenticated and joined.member.email_address == email
    factor = joined.member_session.authentication_factors[0]
    assert (factor.type, factor.delivery_method) == ("oauth", "oauth_google")
    # The provider's tokens followed the new Member.
    tokens = b2b.organizations.members.oauth_providers.google(
        organization_id=by_tenant.organization_id, member_id=joined.member_id
    )
    assert tokens.provider_subject == ada.sub and tokens.access_token
    [registration] = joined.member.oauth_registrations
    assert registration.provider_subject == ada.sub
    assert factor.google_oauth_factor.id == registration.member_oauth_registration_id


def test_discovery_token_is_not_an_organization_token(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    landed = log_in(oidc_provider, start_url(project, discovery=True), oidc_provider.add_account(email=new_email()))
    token = token_of(landed, "discovery_oauth")
    assert error_of(lambda: b2b.oauth.authenticate(oauth_token=token)).error_type == "oauth_token_not_found"
    assert b2b.oauth.discovery.authenticate(discovery_oauth_token=token).intermediate_session_token


# --- A Member's provider tokens ---


def test_provider_tokens_are_refreshed_once_expired(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    acme = jit_org(b2b)
    url = start_url(
        project, organization_id=acme.organization_id, custom_scopes="offline_access", provider_prompt="consent"
    )
    done = b2b.oauth.authenticate(
        oauth_token=token_of(log_in(oidc_provider, url, oidc_provider.add_account(email=new_email())))
    )
    first = done.provider_values
    assert first.refresh_token
    providers = b2b.organizations.members.oauth_providers
    held = providers.google(organization_id=acme.organization_id, member_id=done.member_id)
    assert held.access_token == first.access_token and held.id_token == first.id_token
    assert held.refresh_token in ("", None)  # only when asked
    assert 0 < held.access_token_expires_in <= 3600
    resp = call(project, "POST", "/dev/clock/advance", json={"seconds": 2 * 3600})
    assert resp.status_code == 200, resp.text
    fresh = providers.google(organization_id=acme.organization_id, member_id=done.member_id, include_refresh_token=True)
    assert fresh.access_token != first.access_token and fresh.access_token_expires_in > 0
    assert fresh.refresh_token


def test_provider_tokens_of_a_member_without_that_provider(b2b, project, other_project, oidc_provider):
    import stytch

    configure(project, "google", oidc_provider)
    acme = jit_org(b2b)
    done = oauth_login(b2b, project, oidc_provider, acme, oidc_provider.add_account(email=new_email()))
    providers = b2b.organizations.members.oauth_providers
    caught = error_of(lambda: providers.microsoft(organization_id=acme.organization_id, member_id=done.member_id))
    assert caught.status_code == 404
    for listed in (providers.slack, providers.hubspot, providers.github):
        assert listed(organization_id=acme.organization_id, member_id=done.member_id).registrations == []
    other = stytch.B2BClient(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
    caught = error_of(
        lambda: other.organizations.members.oauth_providers.google(
            organization_id=acme.organization_id, member_id=done.member_id
        )
    )
    assert caught.error_type == "organization_not_found"


@pytest.mark.parametrize("provider", ["slack", "github", "hubspot"])
def test_unconfigured_provider_start_says_so(b2b, project, provider):
    acme = org(b2b)
    resp = requests.get(
        start_url(project, provider, organization_id=acme.organization_id), allow_redirects=False, timeout=10
    )
    assert resp.json()["error_type"] == "oauth_config_not_found"


# --- A provider that does not verify emails: HubSpot ---


@pytest.fixture(scope="module")
def hubspot_idp() -> Iterator[OpenIDProvider]:
    """An OpenID provider whose userinfo speaks HubSpot's access-token information (user,
    user_id, hub_id)."""
    with start_oidc_provider(extra_claims=("user", "user_id", "hub_id")) as running:
        yield running


def hubspot(project: ProjectInfo, idp: OpenIDProvider) -> None:
    found = endpoints(idp)
    configure(
        project,
        "hubspot",
        idp,
        authorize_url=found["authorize_url"],
        token_url=found["token_url"],
        userinfo_url=found["userinfo_url"],
        scopes=["openid"],
    )


def hubspot_account(idp: OpenIDProvider, email: str, hub: str) -> Account:
    return idp.add_account(email=email, user=email, user_id=f"hs-{uuid.uuid4().hex[:8]}", hub_id=hub)


def test_hubspot_tenant_jit_asks_the_new_member_to_prove_the_email(b2b, project, hubspot_idp, inbox):
    hubspot(project, hubspot_idp)
    acme = org(b2b, oauth_tenant_jit_provisioning="RESTRICTED", allowed_oauth_tenants={"hubspot": ["hub-42"]})
    email = new_email()
    done = oauth_login(b2b, project, hubspot_idp, acme, hubspot_account(hubspot_idp, email, "hub-42"), "hubspot")
    assert done.provider_type == "HubSpot" and not done.member_authenticated
    assert done.member.status == "pending" and not done.member.email_address_verified
    assert "email_otp" in done.primary_required.allowed_auth_methods
    # The emailed code proves the address, and the session holds both factors.
    b2b.otps.email.login_or_signup(organization_id=acme.organization_id, email_address=email)
    session = b2b.otps.email.authenticate(
        organization_id=acme.organization_id,
        email_address=email,
        code=latest_code(inbox, email),
        intermediate_session_token=done.intermediate_session_token,
        session_duration_minutes=30,
    )
    kinds = [(f.type, f.delivery_method) for f in session.member_session.authentication_factors]
    assert ("oauth", "oauth_hubspot") in kinds and session.member.email_address_verified
    tokens = b2b.organizations.members.oauth_providers.hubspot(
        organization_id=acme.organization_id, member_id=done.member_id
    )
    [registration] = tokens.registrations
    assert registration.provider_tenant_id == "hub-42" and registration.access_token


def test_hubspot_is_trusted_with_a_verified_members_address_only_once_it_proved_it(b2b, project, hubspot_idp, inbox):
    hubspot(project, hubspot_idp)
    acme = org(b2b)
    email = new_email()
    member = b2b.organizations.members.create(organization_id=acme.organization_id, email_address=email).member
    b2b.otps.email.login_or_signup(organization_id=acme.organization_id, email_address=email)
    b2b.otps.email.authenticate(
        organization_id=acme.organization_id, email_address=email, code=latest_code(inbox, email)
    )
    account = hubspot_account(hubspot_idp, email, "hub-7")
    # Anyone can name this address at HubSpot: the first login asks for the emailed code.
    before = oauth_login(b2b, project, hubspot_idp, acme, account, "hubspot")
    assert not before.member_authenticated and before.primary_required is not None
    assert before.member.oauth_registrations == [] and before.provider_values is None
    b2b.otps.email.login_or_signup(organization_id=acme.organization_id, email_address=email)
    proved = b2b.otps.email.authenticate(
        organization_id=acme.organization_id,
        email_address=email,
        code=latest_code(inbox, email),
        intermediate_session_token=before.intermediate_session_token,
    )
    assert proved.member.oauth_registrations[0].provider_subject == account.claims["user_id"]
    # Once registered, the HubSpot account logs the Member in by itself.
    done = oauth_login(b2b, project, hubspot_idp, acme, account, "hubspot", session_duration_minutes=30)
    assert done.member_id == member.member_id and done.member_authenticated
    assert (
        done.member_session.authentication_factors[0].hubspot_oauth_factor.provider_subject
        == (account.claims["user_id"])
    )
    # Another HubSpot account naming the same address is not that registration.
    stranger = oauth_login(b2b, project, hubspot_idp, acme, hubspot_account(hubspot_idp, email, "hub-7"), "hubspot")
    assert not stranger.member_authenticated and stranger.session_token == ""


def test_concurrent_redemptions_of_one_token_make_one_session(project, oidc_provider):
    import stytch

    configure(project, "google", oidc_provider)
    admin = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
    acme = jit_org(admin)
    url = start_url(project, organization_id=acme.organization_id)
    token = token_of(log_in(oidc_provider, url, oidc_provider.add_account(email=new_email())))

    def redeem(_: int) -> str:
        client = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
        try:
            return client.oauth.authenticate(oauth_token=token, session_duration_minutes=30).member_id
        except stytch.core.response_base.StytchError as exc:
            return exc.details.error_type

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(redeem, range(6)))
    winners = [a for a in answers if a.startswith("member-test-")]
    assert len(winners) == 1 and set(answers) - set(winners) == {"oauth_token_not_found"}, answers
    members = admin.organizations.members.search(organization_ids=[acme.organization_id]).members
    assert [m.member_id for m in members] == winners


def test_allowed_oauth_tenants_are_checked(b2b):
    acme = org(b2b, allowed_oauth_tenants={"github": ["1234", "1234"], "slack": ["T01"]})
    assert acme.allowed_oauth_tenants == {"github": ["1234"], "slack": ["T01"]}
    caught = error_of(lambda: org(b2b, allowed_oauth_tenants={"discord": ["x"]}))
    assert (caught.status_code, caught.error_type) == (400, "invalid_organization_auth_factor_setting")
    caught = error_of(lambda: org(b2b, allowed_oauth_tenants={"github": [1234]}))
    assert caught.status_code == 400


def test_an_intermediate_session_from_a_magic_link_completes_with_oauth(b2b, project, oidc_provider, inbox):
    configure(project, "google", oidc_provider)
    acme = org(b2b, auth_methods="RESTRICTED", allowed_auth_methods=["google_oauth"])
    email = new_email()
    b2b.organizations.members.create(organization_id=acme.organization_id, email_address=email)
    b2b.magic_links.email.discovery.send(email_address=email)
    found = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=inbox.latest_token(email))
    held = b2b.discovery.intermediate_sessions.exchange(
        intermediate_session_token=found.intermediate_session_token, organization_id=acme.organization_id
    )
    assert not held.member_authenticated and held.primary_required.allowed_auth_methods == ["google_oauth"]

    done = oauth_login(
        b2b,
        project,
        oidc_provider,
        acme,
        oidc_provider.add_account(email=email),
        intermediate_session_token=held.intermediate_session_token,
        session_duration_minutes=30,
    )
    kinds = [(f.type, f.delivery_method) for f in done.member_session.authentication_factors]
    assert kinds == [("magic_link", "email"), ("oauth", "oauth_google")]
    spent = error_of(
        lambda: b2b.discovery.intermediate_sessions.exchange(
            intermediate_session_token=held.intermediate_session_token, organization_id=acme.organization_id
        )
    )
    assert spent.error_type == "intermediate_session_not_found"


def test_discovery_creates_an_organization_whose_founder_keeps_the_provider_tokens(b2b, project, oidc_provider):
    configure(project, "google", oidc_provider)
    ada = oidc_provider.add_account(email=new_email(domain="newco.test"))
    landed = log_in(oidc_provider, start_url(project, discovery=True), ada)
    found = b2b.oauth.discovery.authenticate(discovery_oauth_token=token_of(landed, "discovery_oauth"))
    assert found.discovered_organizations == []
    created = b2b.discovery.organizations.create(
        intermediate_session_token=found.intermediate_session_token, organization_name="NewCo"
    )
    assert created.member_authenticated and created.member.oauth_registrations[0].provider_subject == ada.sub
    assert created.member_session.authentication_factors[0].delivery_method == "oauth_google"
    tokens = b2b.organizations.members.oauth_providers.google(
        organization_id=created.organization.organization_id, member_id=created.member_id
    )
    assert tokens.access_token and tokens.provider_subject == ada.sub
