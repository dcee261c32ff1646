"""What the SCIM service answers to hostile bodies (the app-wide hostile-input test covers its
path and query values): a 400 SCIM error body on the same connection, nothing written."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from tests.scim_client import ERROR, ScimClient, http_connection, okta_user, scim_email

TOO_LONG = "a" * 5000


@pytest.fixture(scope="module")
def connection(server):
    return http_connection(server)


HOSTILE = [
    ("a NUL in a string", b'{"userName": "a\\u0000b@acme.example"}'),
    ("a lone surrogate", b'{"userName": "a\\ud800b@acme.example"}'),
    ("a NUL in a key", b'{"a\\u0000b": 1, "userName": "x@acme.example"}'),
    ("bytes that are not UTF-8", b'{"userName": "a\xff\xfe@acme.example"}'),
    ("a string too long", json.dumps({"userName": TOO_LONG}).encode()),
    ("an array body", b"[]"),
    ("a string body", b'"text"'),
    ("JSON nested too deeply", b"[" * 100_000 + b"]" * 100_000),
    ("not JSON", b"userName=ada"),
]


@pytest.mark.parametrize(("what", "body"), HOSTILE, ids=[h[0] for h in HOSTILE])
@pytest.mark.parametrize("target", ["/Users", "/Groups"])
def test_hostile_bodies_are_a_scim_400_and_write_nothing(connection, what, body, target):
    url = urlsplit(connection["base_url"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {connection['bearer_token']}", "Content-Type": "application/scim+json"}
        conn.request("POST", f"{url.path}{target}", body=body, headers=headers)
        resp = conn.getresponse()
        data = json.loads(resp.read())
        assert resp.status == 400, data
        assert resp.getheader("content-type").startswith("application/scim+json")
        assert data["schemas"] == [ERROR]
        assert data["scimType"] in ("invalidValue", "invalidSyntax")
        conn.request("GET", f"{url.path}/ServiceProviderConfig", headers=headers)
        assert conn.getresponse().status == 200  # the same connection still serves
    finally:
        conn.close()
    scim = ScimClient(connection["base_url"], connection["bearer_token"])
    assert scim.ok("GET", target)["totalResults"] == 0


def test_a_valid_user_still_goes_through(connection):
    scim = ScimClient(connection["base_url"], connection["bearer_token"])
    user = scim.ok("POST", "/Users", okta_user(scim_email()), status=201)
    assert scim.call("DELETE", f"/Users/{user['id']}").status_code == 204
