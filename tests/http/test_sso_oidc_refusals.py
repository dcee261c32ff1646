"""An OIDC SSO login refused at keystile's callback or start, each with the IdP answering for
real (panva's oidc-provider): a state that is unknown, spent, expired or from another
browser; a nonce that is not the login's; ID tokens from another issuer or for another
audience, expired, or unsigned (signed by the provider's own key otherwise); the IdP's
refusal; redirect URLs off the allowlist; another project's public token or connection."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.flows import new_email
from tests.idp.oidc import Account, Client, OpenIDProvider
from tests.sdk.test_sso_oidc import make_org, sso_token, start_url
from tests.support import REDIRECT_URL, ProjectInfo, assert_envelope


@pytest.fixture
def setup(b2b: Any, oidc_provider: OpenIDProvider) -> tuple[Any, Client]:
    """An organization's active OIDC connection, and the client registered at the IdP for it."""
    org = make_org(b2b)
    created = b2b.sso.oidc.create_connection(organization_id=org.organization_id).connection
    client = oidc_provider.add_client(redirect_uris=[created.redirect_url])
    connection = b2b.sso.oidc.update_connection(
        organization_id=org.organization_id,
        connection_id=created.connection_id,
        issuer=oidc_provider.issuer,
        client_id=client.client_id,
        client_secret=client.client_secret,
    ).connection
    return connection, client


def back_at_keystile(
    project: ProjectInfo, oidc_provider: OpenIDProvider, connection: Any, account: Account, **options: Any
) -> tuple[requests.Session, str]:
    """A browser that started a login and signed in at the IdP: its session, and the callback
    URL the IdP sent it back to (not followed yet)."""
    http = requests.Session()
    back = oidc_provider.sign_in(
        start_url(project, connection_id=connection.connection_id), account, http=http, **options
    )
    assert back.startswith(connection.redirect_url)
    return http, back


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def callback(http: requests.Session, url: str) -> requests.Response:
    return http.get(url, allow_redirects=False, timeout=10)


class TestState:
    def test_an_unknown_state_is_refused(self, project, oidc_provider, setup):
        connection, _ = setup
        http, back = back_at_keystile(project, oidc_provider, connection, oidc_provider.add_account(email=new_email()))

        assert_envelope(callback(http, with_query(back, state="not-a-state")), 400, "invalid_sso_state")

    def test_another_browser_is_refused_and_the_login_is_spent(self, project, oidc_provider, setup):
        connection, _ = setup
        http, back = back_at_keystile(project, oidc_provider, connection, oidc_provider.add_account(email=new_email()))

        assert_envelope(callback(requests.Session(), back), 400, "invalid_sso_state")
        assert_envelope(callback(http, back), 400, "invalid_sso_state")

    def test_a_state_works_once(self, project, oidc_provider, setup):
        connection, _ = setup
        http, back = back_at_keystile(project, oidc_provider, connection, oidc_provider.add_account(email=new_email()))

        first = callback(http, back)
        assert first.status_code == 302 and first.headers["location"].startswith(REDIRECT_URL)
        assert_envelope(callback(http, back), 400, "invalid_sso_state")

    def test_a_login_left_for_more_than_ten_minutes_is_refused(self, server, project, oidc_provider, setup):
        connection, _ = setup
        http, back = back_at_keystile(project, oidc_provider, connection, oidc_provider.add_account(email=new_email()))
        server.clock.advance(minutes=11)

        assert_envelope(callback(http, back), 400, "invalid_sso_state")


class TestIdToken:
    def test_a_nonce_that_is_not_the_logins_is_refused(self, project, oidc_provider, setup):
        connection, _ = setup
        http = requests.Session()
        to_idp = http.get(start_url(project, connection_id=connection.connection_id), allow_redirects=False)
        assert to_idp.status_code == 302
        # Someone swaps the nonce on the way to the IdP: the IdP signs what it was given.
        swapped = with_query(to_idp.headers["location"], nonce="a-nonce-of-my-choosing")
        back = oidc_provider.sign_in(swapped, oidc_provider.add_account(email=new_email()), http=http)

        body = assert_envelope(callback(http, back), 400, "invalid_id_token")
        assert "nonce" in body["error_message"]

    @pytest.mark.parametrize(
        ("claims", "says"),
        [
            ({"iss": "https://another-issuer.test"}, "iss"),
            ({"aud": "another-client"}, "aud"),
            ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired"),
        ],
        ids=["another-issuer", "another-audience", "expired"],
    )
    def test_a_token_the_idps_key_signed_with_wrong_claims_is_refused(
        self, project, oidc_provider, setup, claims, says
    ):
        connection, client = setup
        oidc_provider.tamper(client, **claims)
        http, back = back_at_keystile(project, oidc_provider, connection, oidc_provider.add_account(email=new_email()))

        body = assert_envelope(callback(http, back), 400, "invalid_id_token")
        assert says in body["error_message"]

    def test_an_unsigned_token_is_refused(self, project, oidc_provider, setup):
        connection, client = setup
        oidc_provider.tamper(client, alg="none")
        http, back = back_at_keystile(project, oidc_provider, connection, oidc_provider.add_account(email=new_email()))

        body = assert_envelope(callback(http, back), 400, "invalid_id_token")
        assert "'none'" in body["error_message"]

    def test_an_issuer_the_connection_does_not_name_is_refused(self, b2b, project, oidc_provider, setup):
        connection, _ = setup
        b2b.sso.oidc.update_connection(
            organization_id=connection.organization_id,
            connection_id=connection.connection_id,
            issuer=oidc_provider.issuer + "/",  # discovery fails; endpoints stay the provider's
        )
        http, back = back_at_keystile(project, oidc_provider, connection, oidc_provider.add_account(email=new_email()))

        assert_envelope(callback(http, back), 400, "identity_provider_error")  # its iss parameter (RFC 9207)


class TestIdentityProvider:
    def test_declined_consent_is_the_idps_error(self, project, oidc_provider, setup):
        connection, _ = setup
        http, back = back_at_keystile(
            project, oidc_provider, connection, oidc_provider.add_account(email=new_email()), consent=False
        )

        body = assert_envelope(callback(http, back), 400, "identity_provider_error")
        assert "access_denied" in body["error_message"]

    def test_an_unverified_email_is_refused(self, project, oidc_provider, setup):
        connection, _ = setup
        account = oidc_provider.add_account(email=new_email(), email_verified=False)
        http, back = back_at_keystile(project, oidc_provider, connection, account)

        assert_envelope(callback(http, back), 400, "identity_provider_error")


class TestStart:
    def test_a_login_redirect_url_off_the_allowlist_is_refused(self, project, setup):
        connection, _ = setup
        url = start_url(project, connection_id=connection.connection_id, login_redirect_url="https://evil.test/cb")

        assert_envelope(requests.get(url, allow_redirects=False, timeout=10), 400, "invalid_login_redirect_url")

    def test_a_signup_redirect_url_off_the_allowlist_is_refused(self, project, setup):
        connection, _ = setup
        url = start_url(project, connection_id=connection.connection_id, signup_redirect_url="https://evil.test/cb")

        assert_envelope(requests.get(url, allow_redirects=False, timeout=10), 400, "invalid_signup_redirect_url")

    def test_an_unknown_public_token_is_refused(self, project, setup):
        connection, _ = setup
        url = f"{project.server.base_url}v1/public/sso/start?" + urlencode(
            {"public_token": "public-token-test-nope", "connection_id": connection.connection_id}
        )

        assert_envelope(requests.get(url, allow_redirects=False, timeout=10), 401, "invalid_public_token")

    def test_another_projects_connection_is_not_found(self, other_project, setup):
        connection, _ = setup
        url = start_url(other_project, connection_id=connection.connection_id)

        assert_envelope(requests.get(url, allow_redirects=False, timeout=10), 404, "connection_not_found")

    def test_a_pending_connection_cannot_start(self, b2b, project):
        org = make_org(b2b)
        pending = b2b.sso.oidc.create_connection(organization_id=org.organization_id).connection
        url = start_url(project, connection_id=pending.connection_id)

        assert_envelope(requests.get(url, allow_redirects=False, timeout=10), 404, "connection_not_found")

    def test_the_cookie_is_http_only_and_scoped_to_the_callbacks(self, project, setup):
        connection, _ = setup
        resp = requests.get(start_url(project, connection_id=connection.connection_id), allow_redirects=False)

        cookie = resp.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/v1/b2b/sso/callback/" in cookie
        assert resp.headers["cache-control"] == "no-store"


def test_a_whole_login_still_works_after_the_refusals(b2b, project, oidc_provider, setup):
    """The refusals above leave the connection usable (a sanity check of the fixture)."""
    connection, _ = setup
    _, token = sso_token(
        project, oidc_provider, oidc_provider.add_account(email=new_email()), connection_id=connection.connection_id
    )
    assert b2b.sso.authenticate(sso_token=token).member_authenticated is True
