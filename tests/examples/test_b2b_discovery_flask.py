"""The B2B discovery example (examples/b2b-discovery-flask) end to end: Flask's test
client drives the app, the app drives keystile through the official SDK, and the
magic link comes from the dev inbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

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
