"""What the SDK hides: whole envelopes, authentication failures, malformed and oversize input."""

from __future__ import annotations

import base64

import requests
import stytch

from tests.flows import discovery_signup, new_email
from tests.support import assert_envelope


def _post(project, path, **kwargs):
    return requests.post(f"{project.server.base_url}{path.lstrip('/')}", timeout=10, **kwargs)


class TestAuthentication:
    def test_missing_credentials(self, project):
        assert_envelope(_post(project, "/v1/b2b/organizations/search", json={}), 401, "unauthorized_credentials")

    def test_wrong_secret(self, project):
        resp = _post(project, "/v1/b2b/organizations/search", json={}, auth=(project.project_id, "secret-test-x"))
        assert_envelope(resp, 401, "unauthorized_credentials")
        assert resp.json()["error_message"] == "Unauthorized credentials."

    def test_another_projects_secret(self, project, other_project):
        resp = _post(project, "/v1/b2b/organizations/search", json={}, auth=(project.project_id, other_project.secret))
        assert_envelope(resp, 401, "unauthorized_credentials")

    def test_garbage_authorization_header(self, project):
        resp = _post(project, "/v1/b2b/organizations/search", json={}, headers={"Authorization": "Basic !!!"})
        assert_envelope(resp, 401, "unauthorized_credentials")

    def test_basic_without_colon(self, project):
        token = base64.b64encode(project.project_id.encode()).decode()
        resp = _post(project, "/v1/b2b/organizations/search", json={}, headers={"Authorization": f"Basic {token}"})
        assert_envelope(resp, 401, "unauthorized_credentials")


class TestBadInput:
    def test_malformed_json(self, project):
        resp = _post(
            project,
            "/v1/b2b/magic_links/email/discovery/send",
            data=b'{"email_address": ',
            headers={"Content-Type": "application/json"},
            auth=project.auth,
        )
        assert_envelope(resp, 400, "bad_request")
        assert "JSON" in resp.json()["error_message"]

    def test_missing_field_is_named(self, project):
        resp = _post(project, "/v1/b2b/magic_links/email/discovery/send", json={}, auth=project.auth)
        assert_envelope(resp, 400, "bad_request")
        assert "email_address" in resp.json()["error_message"]

    def test_mistyped_field_is_named(self, project):
        resp = _post(
            project,
            "/v1/b2b/sessions/authenticate",
            json={"session_token": "x", "session_duration_minutes": "soon"},
            auth=project.auth,
        )
        assert_envelope(resp, 400, "bad_request")
        assert "session_duration_minutes" in resp.json()["error_message"]

    def test_hot_route_reads_a_body_sent_in_chunks(self, project, inbox):
        client = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
        signed_in = discovery_signup(client, inbox, new_email())
        body = b'{"session_token": "%s"}' % signed_in.session_token.encode()

        def chunks():
            yield body[:7]
            yield body[7:20]
            yield body[20:]

        resp = _post(
            project,
            "/v1/b2b/sessions/authenticate",
            data=chunks(),  # Transfer-Encoding: chunked, no Content-Length
            headers={"Content-Type": "application/json"},
            auth=project.auth,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["member_session"]["member_session_id"]

    def test_hot_route_refuses_malformed_json_before_a_missing_body(self, project):
        malformed = _post(
            project,
            "/v1/sessions/authenticate",
            data=b'{"session_token": ',
            headers={"Content-Type": "application/json"},
            auth=project.auth,
        )
        empty = _post(project, "/v1/b2b/sessions/authenticate", auth=project.auth)

        assert_envelope(malformed, 400, "bad_request")
        assert "JSON" in malformed.json()["error_message"]
        assert_envelope(empty, 400, "bad_request")

    def test_oversize_body(self, project):
        resp = _post(
            project,
            "/v1/b2b/organizations",
            data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
            headers={"Content-Type": "application/json"},
            auth=project.auth,
        )
        assert_envelope(resp, 413, "request_too_large")

    def test_unknown_route(self, project):
        resp = requests.get(f"{project.server.base_url}v1/b2b/unknown", auth=project.auth, timeout=10)
        assert_envelope(resp, 404, "route_not_found")

    def test_wrong_method(self, project):
        resp = requests.delete(f"{project.server.base_url}v1/b2b/sessions/authenticate", auth=project.auth, timeout=10)
        assert_envelope(resp, 405, "method_not_allowed")


class TestJWKS:
    def test_served_without_auth_for_both_products(self, project):
        for path in ("v1/b2b/sessions/jwks", "v1/sessions/jwks"):
            resp = requests.get(f"{project.server.base_url}{path}/{project.project_id}", timeout=10)
            assert resp.status_code == 200
            key = resp.json()["keys"][0]
            assert {"kty", "use", "key_ops", "alg", "kid", "x5c", "x5tS256", "n", "e"} <= key.keys()

    def test_unknown_project(self, project):
        resp = requests.get(f"{project.server.base_url}v1/b2b/sessions/jwks/project-test-nope", timeout=10)
        assert_envelope(resp, 404, "project_not_found")


class TestInbox:
    def test_page_lists_messages_with_clickable_links(self, b2b, inbox, project):
        email = new_email("page-reader")
        b2b.magic_links.email.discovery.send(email_address=email)
        link = inbox.latest_emailed_link(email)
        page = requests.get(f"{project.server.base_url}dev/inbox", params={"to": email}, timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert f'href="{link.replace("&", "&amp;")}"' in page.text

    def test_json_shape_newest_first_and_bare_to(self, b2b, inbox, server):
        email = new_email("shape")
        b2b.magic_links.email.discovery.send(email_address=email.upper())
        server.clock.advance(seconds=1)  # the second message is newer on the server's clock
        b2b.magic_links.email.discovery.send(email_address=email)
        messages = inbox.messages(email)
        assert len(messages) == 2
        assert set(messages[0]) == {"id", "channel", "to", "from", "subject", "text", "html", "links", "created_at"}
        assert messages[0]["to"] == email and messages[1]["to"] == email.upper()
        assert messages[0]["created_at"] > messages[1]["created_at"]
        assert all(isinstance(link, str) for link in messages[0]["links"])
