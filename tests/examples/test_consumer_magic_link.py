"""The consumer magic-link example (examples/consumer-magic-link) end to end: Flask's
test client drives the app, the app drives keystile through the official SDK, and the
magic link comes from the dev inbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from stytch.core.response_base import StytchError

from tests.examples.conftest import APP_URL, example_config, load_example, open_link, send_link

app_module = load_example("consumer-magic-link")


@pytest.fixture
def app(project: Any) -> Any:
    return app_module.create_app(example_config(project))


def log_in(client: Any, inbox: Any, email: str) -> None:
    resp = open_link(client, send_link(client, inbox, email))
    assert resp.status_code == 302 and resp.location == "/dashboard", resp.text


def stored(client: Any, key: str) -> Any:
    with client.session_transaction() as sess:
        return sess.get(key)


class TestLogin:
    def test_login_page_has_an_email_form(self, client):
        resp = client.get("/login")
        assert resp.status_code == 200
        assert 'name="email"' in resp.text and 'action="/login"' in resp.text

    def test_home_sends_a_visitor_to_login(self, client):
        resp = client.get("/")
        assert resp.status_code == 302 and resp.location == "/login"

    def test_login_emails_a_magic_link_to_the_apps_authenticate_page(self, client, inbox, email):
        link = send_link(client, inbox, email)
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{APP_URL}/authenticate"
        assert "stytch_token_type=magic_links" in parts.query
        assert "token=" in parts.query

    def test_new_email_gets_a_signup_link(self, client, email):
        resp = client.post("/login", data={"email": email})
        assert "sign-up link" in resp.text

    def test_active_user_gets_a_login_link(self, client, inbox, email):
        log_in(client, inbox, email)
        resp = client.post("/login", data={"email": email})
        assert "login link" in resp.text

    def test_login_with_an_invalid_email_shows_keystiles_error(self, client):
        resp = client.post("/login", data={"email": "not-an-email"})
        assert resp.status_code == 400
        assert "Check your email" not in resp.text


class TestAuthenticate:
    def test_link_signs_in_with_a_token_and_a_jwt(self, client, inbox, email):
        log_in(client, inbox, email)
        assert stored(client, "session_token")
        assert stored(client, "session_jwt")

    def test_link_works_only_once(self, client, inbox, email):
        link = send_link(client, inbox, email)
        assert open_link(client, link).status_code == 302
        client.get("/logout")
        again = open_link(client, link)
        assert again.status_code >= 400
        assert "Could not log you in" in again.text
        assert stored(client, "session_token") is None

    def test_link_without_a_token_is_refused(self, client):
        resp = client.get("/authenticate?stytch_token_type=magic_links")
        assert resp.status_code == 400


class TestDashboard:
    def test_dashboard_shows_the_users_email(self, client, inbox, email):
        log_in(client, inbox, email)
        resp = client.get("/dashboard")
        assert resp.status_code == 200
        assert f"Welcome, {email}" in resp.text

    def test_dashboard_without_a_session_redirects_to_login(self, client):
        resp = client.get("/dashboard")
        assert resp.status_code == 302 and resp.location == "/login"

    def test_dashboard_falls_back_to_the_session_token_without_a_jwt(self, client, inbox, email):
        log_in(client, inbox, email)
        with client.session_transaction() as sess:
            del sess["session_jwt"]
        resp = client.get("/dashboard")
        assert resp.status_code == 200
        assert f"Welcome, {email}" in resp.text
        assert stored(client, "session_jwt")

    def test_dashboard_accepts_a_jwt_past_its_five_minutes_while_the_session_lives(self, project, client, inbox, email):
        log_in(client, inbox, email)
        old_jwt = stored(client, "session_jwt")
        project.server.clock.advance(minutes=30)
        resp = client.get("/dashboard")
        assert resp.status_code == 200
        assert stored(client, "session_jwt") != old_jwt

    def test_dashboard_refuses_a_session_past_its_sixty_minutes(self, project, client, inbox, email):
        log_in(client, inbox, email)
        project.server.clock.advance(minutes=61)
        resp = client.get("/dashboard")
        assert resp.status_code == 302 and resp.location == "/login"


class TestLogout:
    def test_logout_redirects_to_login_and_dashboard_refuses(self, client, inbox, email):
        log_in(client, inbox, email)
        resp = client.get("/logout")
        assert resp.status_code == 302 and resp.location == "/login"
        dashboard = client.get("/dashboard")
        assert dashboard.status_code == 302 and dashboard.location == "/login"

    def test_logout_revokes_the_session_at_keystile(self, app, client, inbox, email):
        log_in(client, inbox, email)
        token = stored(client, "session_token")
        client.get("/logout")
        with pytest.raises(StytchError) as caught:
            app.extensions["stytch"].sessions.authenticate(session_token=token)
        assert caught.value.details.error_type == "session_not_found"

    def test_old_cookie_is_refused_after_logout(self, client, inbox, email):
        log_in(client, inbox, email)
        with client.session_transaction() as sess:
            old = dict(sess)
        client.get("/logout")
        with client.session_transaction() as sess:
            sess.update(old)
        resp = client.get("/dashboard")
        assert resp.status_code == 302 and resp.location == "/login"
