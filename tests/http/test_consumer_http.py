"""The consumer API over plain HTTP: Stytch's consumer magic-link quickstart exactly as
its curl calls run it (Basic auth, JSON), whole error envelopes, bad input that must
write nothing, and request shapes the SDKs send that a strict server could trip on."""

from __future__ import annotations

from typing import Any

import requests

from tests.flows import new_email
from tests.support import ENVELOPE, link_params


def post(http: Any, path: str, **kwargs: Any) -> requests.Response:
    return http.post(f"{http.base_url}{path.lstrip('/')}", timeout=10, **kwargs)


def user_count(http: Any) -> int:
    return post(http, "/v1/users/search", json={}).json()["results_metadata"]["total"]


class TestQuickstart:
    """stytch.com/docs/guides/magic-links/email-magic-links/api, step by step, with
    `requests` and `-u PROJECT_ID:SECRET` as the guide does with curl."""

    def test_login_or_create_authenticate_then_protect_a_route(self, project, inbox):
        base = project.server.base_url
        auth = (project.project_id, project.secret)
        headers = {"Content-Type": "application/json"}
        email = new_email("quickstart")

        sent = requests.post(
            f"{base}v1/magic_links/email/login_or_create", auth=auth, headers=headers, json={"email": email}, timeout=10
        )
        assert sent.status_code == 200
        assert sent.json()["user_created"] is True

        link = inbox.latest_link(email)
        params = link_params(link)
        assert link.startswith("http://localhost:3000/authenticate?")
        assert params["stytch_token_type"] == "magic_links"

        authed = requests.post(
            f"{base}v1/magic_links/authenticate",
            auth=auth,
            headers=headers,
            json={"token": params["token"], "session_duration_minutes": 60},
            timeout=10,
        )
        assert authed.status_code == 200
        body = authed.json()
        assert body["user_id"] == sent.json()["user_id"]
        assert body["session_token"] and body["session_jwt"]

        protected = requests.post(
            f"{base}v1/sessions/authenticate",
            auth=auth,
            headers=headers,
            json={"session_jwt": body["session_jwt"]},
            timeout=10,
        )
        assert protected.status_code == 200
        session = protected.json()
        assert session["session"]["user_id"] == body["user_id"]
        assert session["user"]["emails"][0]["email"] == email
        assert session["status_code"] == 200 and session["request_id"].startswith("request-id-test-")


class TestErrorEnvelopes:
    def test_email_not_found_is_a_whole_envelope(self, http):
        resp = post(http, "/v1/magic_links/email/send", json={"email": new_email()})
        assert resp.status_code == 404
        body = resp.json()
        assert set(body) == ENVELOPE
        assert body["status_code"] == 404
        assert body["error_type"] == "email_not_found"

    def test_wrong_secret_is_unauthorized_credentials(self, project):
        resp = requests.post(
            f"{project.server.base_url}v1/users",
            auth=(project.project_id, "secret-test-wrong"),
            json={"email": new_email()},
            timeout=10,
        )
        assert resp.status_code == 401
        assert resp.json()["error_type"] == "unauthorized_credentials"

    def test_missing_auth_is_unauthorized_credentials(self, project):
        resp = requests.get(f"{project.server.base_url}v1/users/user-test-x", timeout=10)
        assert resp.status_code == 401
        assert set(resp.json()) == ENVELOPE

    def test_unknown_search_filter_names_the_filter(self, http):
        resp = post(
            http,
            "/v1/users/search",
            json={
                "query": {"operator": "AND", "operands": [{"filter_name": "favourite_colour", "filter_value": "blue"}]}
            },
        )
        assert resp.status_code == 400
        assert resp.json()["error_type"] == "user_search_filter_name_not_recognized"
        assert "favourite_colour" in resp.json()["error_message"]


class TestBadInputWritesNothing:
    def test_login_or_create_without_email(self, http, project, inbox):
        resp = post(http, "/v1/magic_links/email/login_or_create", json={})
        assert resp.status_code == 400
        assert resp.json()["error_type"] == "bad_request"
        assert "email" in resp.json()["error_message"]
        assert user_count(http) == 0

    def test_login_or_create_with_a_bad_email(self, http, inbox):
        resp = post(http, "/v1/magic_links/email/login_or_create", json={"email": "two@@signs.test"})
        assert resp.status_code == 400
        assert resp.json()["error_type"] == "invalid_email"
        assert user_count(http) == 0
        assert inbox.messages("two@@signs.test") == []

    def test_login_or_create_with_malformed_json(self, http):
        resp = post(
            http,
            "/v1/magic_links/email/login_or_create",
            data=b'{"email": ',
            headers={"Content-Type": "application/json"},
        )
        assert resp.status_code == 400
        assert resp.json()["error_message"] == "The request body is not valid JSON."
        assert user_count(http) == 0

    def test_login_or_create_with_a_bad_redirect_url(self, http, inbox):
        email = new_email()
        resp = post(
            http,
            "/v1/magic_links/email/login_or_create",
            json={"email": email, "signup_magic_link_url": "https://elsewhere.test/"},
        )
        assert resp.status_code == 400
        assert user_count(http) == 0
        assert inbox.messages(email) == []

    def test_create_user_without_email(self, http):
        resp = post(http, "/v1/users", json={"name": {"first_name": "Ada"}})
        assert resp.status_code == 400
        assert user_count(http) == 0

    def test_create_user_with_malformed_json(self, http):
        resp = post(http, "/v1/users", data=b"{not json", headers={"Content-Type": "application/json"})
        assert resp.status_code == 400
        assert user_count(http) == 0

    def test_create_user_with_a_wrongly_typed_field(self, http):
        resp = post(http, "/v1/users", json={"email": new_email(), "trusted_metadata": "not an object"})
        assert resp.status_code == 400
        assert "trusted_metadata" in resp.json()["error_message"]
        assert user_count(http) == 0

    def test_invite_with_a_bad_lifetime(self, http, inbox):
        email = new_email()
        resp = post(http, "/v1/magic_links/email/invite", json={"email": email, "invite_expiration_minutes": 10081})
        assert resp.status_code == 400
        assert resp.json()["error_type"] == "invalid_expiration_minutes"
        assert user_count(http) == 0
        assert inbox.messages(email) == []

    def test_authenticate_without_token(self, http):
        resp = post(http, "/v1/magic_links/authenticate", json={"session_duration_minutes": 60})
        assert resp.status_code == 400
        assert "token" in resp.json()["error_message"]

    def test_get_sessions_without_user_id(self, http):
        resp = http.get(f"{http.base_url}v1/sessions", timeout=10)
        assert resp.status_code == 400
        assert "user_id" in resp.json()["error_message"]


class TestSDKRequestShapes:
    def test_delete_with_an_empty_json_body_as_node_sends_it(self, http):
        user_id = post(http, "/v1/users", json={"email": new_email()}).json()["user_id"]
        resp = http.delete(f"{http.base_url}v1/users/{user_id}", json={}, timeout=10)
        assert resp.status_code == 200
        assert resp.json()["user_id"] == user_id

    def test_update_with_the_path_parameter_copied_into_the_body(self, http):
        user_id = post(http, "/v1/users", json={"email": new_email()}).json()["user_id"]
        resp = http.put(
            f"{http.base_url}v1/users/{user_id}", json={"user_id": user_id, "name": {"first_name": "Ada"}}, timeout=10
        )
        assert resp.status_code == 200
        assert resp.json()["user"]["name"]["first_name"] == "Ada"

    def test_get_with_the_path_parameter_repeated_in_the_query(self, http):
        user_id = post(http, "/v1/users", json={"email": new_email()}).json()["user_id"]
        resp = http.get(f"{http.base_url}v1/users/{user_id}", params={"user_id": user_id}, timeout=10)
        assert resp.status_code == 200

    def test_explicit_nulls_leave_fields_unchanged(self, http):
        created = post(http, "/v1/users", json={"email": new_email(), "trusted_metadata": {"a": 1}}).json()
        resp = http.put(
            f"{http.base_url}v1/users/{created['user_id']}",
            json={"trusted_metadata": None, "external_id": None, "name": None},
            timeout=10,
        )
        assert resp.status_code == 200
        assert resp.json()["user"]["trusted_metadata"] == {"a": 1}

    def test_unknown_fields_are_ignored(self, http):
        resp = post(
            http,
            "/v1/magic_links/email/login_or_create",
            json={"email": new_email(), "locale": "fr", "login_template_id": "t", "something_new": 1},
        )
        assert resp.status_code == 200

    def test_magic_link_authenticate_without_session_has_null_session(self, http, inbox):
        email = new_email()
        post(http, "/v1/magic_links/email/login_or_create", json={"email": email})
        body = post(http, "/v1/magic_links/authenticate", json={"token": inbox.latest_token(email)}).json()
        assert body["session"] is None
        assert body["session_token"] == "" and body["session_jwt"] == ""

    def test_tokens_are_not_in_the_database_in_clear(self, http, inbox, project):
        email = new_email()
        post(http, "/v1/magic_links/email/login_or_create", json={"email": email})
        token = inbox.latest_token(email)
        server = project.server

        async def stored_hashes() -> list[str]:
            from sqlalchemy import select

            from keystile.models.tokens import tokens

            async with server.state.engine.connect() as conn:
                rows = await conn.execute(select(tokens.c.token_hash).where(tokens.c.project_id == project.project_id))
                return [r.token_hash for r in rows]

        assert token not in server.run(stored_hashes())
