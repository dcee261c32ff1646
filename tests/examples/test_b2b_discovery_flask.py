"""The B2B discovery example (examples/b2b-discovery-flask) end to end: Flask's test
client drives the app, the app drives keystile through the official SDK, and the
magic link comes from the dev inbox."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from stytch.core.response_base import StytchError

from tests.examples.conftest import APP_URL, example_config, load_example, open_link, send_link

app_module = load_example("b2b-discovery-flask")


@pytest.fixture
def app(project: Any) -> Any:
    return app_module.create_app(example_config(project))


def discover(client: Any, inbox: Any, email: str) -> Any:
    """Log in by email up to the organization picker; return the picker page."""
    resp = open_link(client, send_link(client, inbox, email))
    assert resp.status_code == 302 and resp.location.endswith("/organizations"), resp.text
    return client.get("/organizations")


def create_org(client: Any, inbox: Any, email: str, name: str = "Acme Rockets") -> Any:
    discover(client, inbox, email)
    return client.post("/organizations/create", data={"organization_name": name})


def stored(client: Any, key: str) -> Any:
    with client.session_transaction() as sess:
        return sess.get(key)


class TestLogin:
    def test_login_page_has_an_email_form(self, client):
        resp = client.get("/")
        assert resp.status_code == 200
        assert 'name="email"' in resp.text and 'action="/login"' in resp.text

    def test_login_emails_a_discovery_link_to_the_apps_authenticate_page(self, client, inbox, email):
        resp = client.post("/login", data={"email": email})
        assert "Check your email" in resp.text
        link = inbox.latest_link(email)
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{APP_URL}/authenticate"
        assert "stytch_token_type=discovery" in parts.query
        assert "token=" in parts.query

    def test_login_with_an_invalid_email_shows_keystiles_error(self, client):
        resp = client.post("/login", data={"email": "not-an-email"})
        assert resp.status_code == 400
        assert "Check your email" not in resp.text


class TestAuthenticate:
    def test_link_starts_an_intermediate_session(self, client, inbox, email):
        resp = open_link(client, send_link(client, inbox, email))
        assert resp.status_code == 302
        assert stored(client, "intermediate_session_token")
        assert stored(client, "session_token") is None

    def test_new_email_discovers_no_organizations(self, client, inbox, email):
        page = discover(client, inbox, email)
        assert page.status_code == 200
        assert email in page.text
        assert "not a member of any organization yet" in page.text
        assert 'name="organization_name"' in page.text

    def test_link_works_only_once(self, client, inbox, email):
        link = send_link(client, inbox, email)
        assert open_link(client, link).status_code == 302
        again = open_link(client, link)
        assert again.status_code >= 400
        assert "Could not sign you in" in again.text

    def test_link_of_another_token_type_is_refused(self, client, inbox, email):
        query = urlsplit(send_link(client, inbox, email)).query.replace("discovery", "multi_tenant_magic_links")
        resp = client.get("/authenticate?" + query)
        assert resp.status_code == 400
        assert stored(client, "intermediate_session_token") is None


class TestOrganizations:
    def test_creating_an_organization_signs_in(self, client, inbox, email):
        resp = create_org(client, inbox, email)
        assert resp.status_code == 302 and resp.location.endswith("/dashboard")
        assert stored(client, "session_token")
        assert stored(client, "session_jwt")
        assert stored(client, "intermediate_session_token") is None

    def test_returning_member_discovers_their_organization(self, client, inbox, email):
        create_org(client, inbox, email, "Acme Rockets")
        client.get("/logout")
        page = discover(client, inbox, email)
        assert "Acme Rockets" in page.text
        assert "active_member" in page.text

    def test_returning_member_picks_their_organization(self, app, client, inbox, email):
        create_org(client, inbox, email, "Acme Rockets")
        client.get("/logout")
        discover(client, inbox, email)
        ist = stored(client, "intermediate_session_token")
        org_id = (
            app.extensions["stytch"]
            .discovery.organizations.list(intermediate_session_token=ist)
            .discovered_organizations[0]
            .organization.organization_id
        )
        resp = client.post("/organizations/select", data={"organization_id": org_id})
        assert resp.status_code == 302 and resp.location.endswith("/dashboard")
        dashboard = client.get("/dashboard")
        assert dashboard.status_code == 200
        assert "Acme Rockets" in dashboard.text

    def test_picker_without_a_link_redirects_home(self, client):
        resp = client.get("/organizations")
        assert resp.status_code == 302 and resp.location == "/"


class TestDashboard:
    def test_dashboard_shows_member_email_and_organization(self, client, inbox, email):
        create_org(client, inbox, email, "Acme Rockets")
        resp = client.get("/dashboard")
        assert resp.status_code == 200
        assert f"Welcome, {email}" in resp.text
        assert "Acme Rockets" in resp.text
        assert "acme-rockets" in resp.text

    def test_dashboard_without_a_session_redirects_home(self, client):
        resp = client.get("/dashboard")
        assert resp.status_code == 302 and resp.location == "/"

    def test_dashboard_refuses_a_session_past_its_sixty_minutes(self, project, client, inbox, email):
        create_org(client, inbox, email)
        project.server.clock.advance(minutes=61)
        resp = client.get("/dashboard")
        assert resp.status_code == 302 and resp.location == "/"


class TestLogout:
    def test_logout_redirects_home_and_dashboard_refuses(self, client, inbox, email):
        create_org(client, inbox, email)
        resp = client.get("/logout")
        assert resp.status_code == 302 and resp.location == "/"
        dashboard = client.get("/dashboard")
        assert dashboard.status_code == 302 and dashboard.location == "/"

    def test_logout_revokes_the_session_at_keystile(self, app, client, inbox, email):
        create_org(client, inbox, email)
        token = stored(client, "session_token")
        client.get("/logout")
        with pytest.raises(StytchError) as caught:
            app.extensions["stytch"].sessions.authenticate(session_token=token)
        assert caught.value.details.error_type == "session_not_found"

    def test_old_cookie_is_refused_after_logout(self, client, inbox, email):
        create_org(client, inbox, email)
        with client.session_transaction() as sess:
            old = dict(sess)
        client.get("/logout")
        with client.session_transaction() as sess:
            sess.update(old)
        resp = client.get("/dashboard")
        assert resp.status_code == 302 and resp.location == "/"


def create_mfa_org(client: Any, inbox: Any, email: str, name: str = "Acme Vault") -> Any:
    """Create an organization that requires MFA of everyone; the app's answer."""
    discover(client, inbox, email)
    return client.post("/organizations/create", data={"organization_name": name, "require_mfa": "1"})


def enrol(client: Any, inbox: Any, email: str) -> tuple[str, list[str]]:
    """Create an MFA organization and finish the first login with a new TOTP; its secret and
    the recovery codes the enrolment page showed."""
    create_mfa_org(client, inbox, email)
    page = client.get("/mfa/enroll")
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', page.text).group(1)
    codes = re.findall(r"<li><code>([^<]+)</code></li>", page.text)
    resp = client.post("/mfa", data={"code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 302 and resp.location.endswith("/dashboard"), resp.text
    return secret, codes


def back_to_mfa(app: Any, client: Any, inbox: Any, email: str) -> Any:
    """Log out, log in again by email and pick the MFA organization; the app's answer."""
    client.get("/logout")
    discover(client, inbox, email)
    ist = stored(client, "intermediate_session_token")
    [found] = (
        app.extensions["stytch"].discovery.organizations.list(intermediate_session_token=ist).discovered_organizations
    )
    return client.post("/organizations/select", data={"organization_id": found.organization.organization_id})


def factors(app: Any, client: Any) -> list[str]:
    resp = app.extensions["stytch"].sessions.authenticate(session_token=stored(client, "session_token"))
    return [f.delivery_method for f in resp.member_session.authentication_factors]


class TestMfa:
    def test_an_organization_requiring_mfa_asks_a_new_member_to_enrol(self, client, inbox, email):
        resp = create_mfa_org(client, inbox, email)
        assert resp.status_code == 302 and resp.location.endswith("/mfa/enroll")
        assert stored(client, "session_token") is None
        assert stored(client, "intermediate_session_token")
        page = client.get("/mfa/enroll")
        assert page.status_code == 200
        assert 'src="data:image/png;base64, ' in page.text
        assert len(re.findall(r"<li><code>([^<]+)</code></li>", page.text)) == 10
        assert client.get("/dashboard").location == "/"

    def test_a_code_from_the_new_totp_signs_in_with_both_factors(self, app, client, inbox, email):
        enrol(client, inbox, email)
        assert stored(client, "intermediate_session_token") is None
        dashboard = client.get("/dashboard")
        assert dashboard.status_code == 200 and "Acme Vault" in dashboard.text
        assert factors(app, client) == ["email", "authenticator_app"]

    def test_a_wrong_code_is_refused_and_the_person_may_try_again(self, client, inbox, email):
        create_mfa_org(client, inbox, email)
        page = client.get("/mfa/enroll")
        secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', page.text).group(1)
        wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
        refused = client.post("/mfa", data={"code": wrong})
        assert refused.status_code >= 400 and 'class="error"' in refused.text
        assert stored(client, "session_token") is None
        resp = client.post("/mfa", data={"code": pyotp.TOTP(secret).now()})
        assert resp.status_code == 302 and resp.location.endswith("/dashboard")

    def test_an_enrolled_member_is_asked_for_a_code(self, app, client, inbox, email):
        secret, _ = enrol(client, inbox, email)
        resp = back_to_mfa(app, client, inbox, email)
        assert resp.status_code == 302 and resp.location.endswith("/mfa")
        page = client.get("/mfa")
        assert 'name="code"' in page.text and "Use a recovery code" in page.text
        # The code of the step the enrolment used is spent; the next step's is accepted.
        resp = client.post("/mfa", data={"code": pyotp.TOTP(secret).at(time.time() + 30)})
        assert resp.status_code == 302 and resp.location.endswith("/dashboard"), resp.text
        assert factors(app, client) == ["email", "authenticator_app"]

    def test_a_recovery_code_signs_in_once(self, app, client, inbox, email):
        _, codes = enrol(client, inbox, email)
        back_to_mfa(app, client, inbox, email)
        assert 'name="recovery_code"' in client.get("/mfa/recovery").text
        resp = client.post("/mfa/recovery", data={"recovery_code": codes[0]})
        assert resp.status_code == 302 and resp.location.endswith("/dashboard"), resp.text
        assert client.get("/dashboard").status_code == 200
        back_to_mfa(app, client, inbox, email)
        again = client.post("/mfa/recovery", data={"recovery_code": codes[0]})
        assert again.status_code >= 400 and 'class="error"' in again.text
        assert stored(client, "session_token") is None

    def test_the_mfa_pages_without_a_pending_login_redirect_home(self, client):
        for path in ("/mfa", "/mfa/enroll", "/mfa/recovery"):
            assert client.get(path).location == "/"
        assert client.post("/mfa", data={"code": "123456"}).location == "/"
