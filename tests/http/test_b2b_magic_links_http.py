"""B2B magic links over raw HTTP: whole error envelopes and project isolation, which the
SDK hides."""

from __future__ import annotations

import requests

from tests.flows import new_email
from tests.support import assert_envelope, link_params


def post(http, path: str, body: dict) -> requests.Response:
    return http.post(f"{http.base_url}{path.lstrip('/')}", json=body, timeout=10)


def send_discovery_link(http, inbox) -> str:
    email = new_email()
    resp = post(http, "/v1/b2b/magic_links/email/discovery/send", {"email_address": email})
    assert resp.status_code == 200, resp.text
    return link_params(inbox.latest_link(email))["token"]


class TestProjectIsolation:
    def test_another_projects_secret_cannot_authenticate_this_projects_link(self, http, inbox, other_project):
        token = send_discovery_link(http, inbox)
        resp = requests.post(
            f"{http.base_url}v1/b2b/magic_links/discovery/authenticate",
            json={"discovery_magic_links_token": token},
            auth=other_project.auth,
            timeout=10,
        )
        assert_envelope(resp, 404, "magic_link_not_found")
        mine = post(http, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})
        assert mine.status_code == 200, mine.text

    def test_another_projects_secret_cannot_use_this_projects_intermediate_session(self, http, inbox, other_project):
        token = send_discovery_link(http, inbox)
        ist = post(http, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token}).json()[
            "intermediate_session_token"
        ]
        resp = requests.post(
            f"{http.base_url}v1/b2b/discovery/organizations/create",
            json={"intermediate_session_token": ist, "organization_name": "Stolen"},
            auth=other_project.auth,
            timeout=10,
        )
        assert_envelope(resp, 404, "intermediate_session_not_found")
        mine = post(http, "/v1/b2b/discovery/organizations/create", {"intermediate_session_token": ist})
        assert mine.status_code == 200, mine.text

    def test_wrong_secret_is_unauthorized(self, http, project):
        resp = requests.post(
            f"{http.base_url}v1/b2b/magic_links/email/discovery/send",
            json={"email_address": new_email()},
            auth=(project.project_id, "secret-test-wrong"),
            timeout=10,
        )
        assert_envelope(resp, 401, "unauthorized_credentials")


class TestValidation:
    def test_missing_email_address_names_the_field(self, http):
        resp = post(http, "/v1/b2b/magic_links/email/discovery/send", {})
        body = assert_envelope(resp, 400, "bad_request")
        assert "email_address" in body["error_message"]

    def test_bad_email_is_invalid_email(self, http, inbox):
        resp = post(http, "/v1/b2b/magic_links/email/discovery/send", {"email_address": "not-an-email"})
        assert_envelope(resp, 400, "invalid_email")
        assert inbox.messages("not-an-email") == []

    def test_bad_email_on_login_or_signup_is_invalid_email(self, http):
        resp = post(
            http,
            "/v1/b2b/magic_links/email/login_or_signup",
            {"organization_id": "whatever", "email_address": "ada@"},
        )
        assert_envelope(resp, 400, "invalid_email")

    def test_missing_token_names_the_field(self, http):
        resp = post(http, "/v1/b2b/magic_links/authenticate", {})
        body = assert_envelope(resp, 400, "bad_request")
        assert "magic_links_token" in body["error_message"]

    def test_wrongly_typed_expiration_is_a_bad_request(self, http):
        resp = post(
            http,
            "/v1/b2b/magic_links/email/discovery/send",
            {"email_address": new_email(), "discovery_expiration_minutes": "an hour"},
        )
        body = assert_envelope(resp, 400, "bad_request")
        assert "discovery_expiration_minutes" in body["error_message"]

    def test_explicit_nulls_are_treated_as_absent(self, http, inbox):
        # The Node SDK may send null for optional fields.
        email = new_email()
        resp = post(
            http,
            "/v1/b2b/magic_links/email/discovery/send",
            {"email_address": email, "discovery_redirect_url": None, "pkce_code_challenge": None},
        )
        assert resp.status_code == 200, resp.text
        assert inbox.messages(email)


class TestSuccessBodies:
    def test_send_returns_status_code_and_request_id(self, http):
        body = post(http, "/v1/b2b/magic_links/email/discovery/send", {"email_address": new_email()}).json()
        assert body["status_code"] == 200
        assert body["request_id"].startswith("request-id-test-")

    def test_discovery_authenticate_has_no_session_fields(self, http, inbox):
        token = send_discovery_link(http, inbox)
        body = post(http, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token}).json()
        assert set(body) >= {"intermediate_session_token", "email_address", "discovered_organizations"}
        assert "session_token" not in body
