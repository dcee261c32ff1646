"""A request for an endpoint of Stytch's API that keystile does not serve yet says so, with
a Stytch-style error, instead of "no route" (which reads like a wrong base URL). What is
served is read from the running app's routes, so endpoints added later need no edit here."""

from __future__ import annotations

import json
import re

import pytest
import requests
import stytch
from stytch.core.response_base import StytchError

from keystile.core import stytch_api
from tests.support import keystile_in_process


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def test_every_stytch_endpoint_keystile_does_not_serve_says_so(server):
    unserved = [e for e, ok in stytch_api.status(server.app.routes) if not ok]
    assert unserved, "keystile serves all of Stytch's API: this test has nothing left to check"
    for endpoint in unserved:
        resp = requests.request(endpoint.method, server.base_url + concrete(endpoint.path).lstrip("/"), timeout=10)
        body = resp.json()
        assert resp.status_code == 501, (endpoint, body)
        assert body["error_type"] == "endpoint_not_implemented"
        assert body["error_message"].startswith(f"{endpoint.method} {endpoint.path} is part of Stytch's API")
        assert f"({endpoint.area}: {endpoint.sdk_method})" in body["error_message"]
        assert body["status_code"] == 501 and body["request_id"]


# The example of an endpoint not served yet; when it is served, pick another from
# `keystile endpoints --missing`.
EXAMPLE = ("POST", "/v1/b2b/sessions/attest")


def test_the_example_is_still_unserved(server):
    assert EXAMPLE not in stytch_api.served(server.app.routes), "served now: pick another EXAMPLE"


def test_sessions_attest_names_the_feature(server):
    resp = requests.post(f"{server.base_url}v1/b2b/sessions/attest", json={}, timeout=10)
    assert resp.status_code == 501
    assert resp.json()["error_message"] == (
        "POST /v1/b2b/sessions/attest is part of Stytch's API (B2B Sessions: sessions.attest) "
        "but keystile does not serve it yet. `keystile endpoints` lists what it serves."
    )


def test_a_path_that_is_not_stytchs_is_still_route_not_found(server):
    resp = requests.post(f"{server.base_url}v1/b2b/no_such_thing", json={}, timeout=10)
    assert resp.status_code == 404
    assert resp.json()["error_type"] == "route_not_found"


def test_served_endpoints_are_answered_by_keystile_not_the_catalogue(server):
    served = [e for e, ok in stytch_api.status(server.app.routes) if ok]
    assert any(e.path == "/v1/b2b/organizations/search" for e in served)
    resp = requests.post(f"{server.base_url}v1/b2b/organizations/search", json={}, timeout=10)
    assert resp.status_code == 401  # the route ran (and asked for credentials)


def test_the_shipped_catalogue_has_all_186_endpoints():
    endpoints = stytch_api.endpoints()
    assert len(endpoints) == 186 and len({(e.method, e.path) for e in endpoints}) == 186


def test_keystile_endpoints_lists_what_the_running_app_serves(server):
    done = keystile_in_process({}, "endpoints", "--json")
    assert done.returncode == 0, done.stderr
    listed = {(e["method"], e["path"]): e["served"] for e in json.loads(done.stdout)}
    assert listed == {(e.method, e.path): ok for e, ok in stytch_api.status(server.app.routes)}
    missing = keystile_in_process({}, "endpoints", "--missing", "--area", "B2B Sessions")
    assert "not yet  POST   /v1/b2b/sessions/attest  sessions.attest" in missing.stdout
    assert "served " not in missing.stdout.replace("served)", "")
    unknown = keystile_in_process({}, "endpoints", "--area", "B2B Nothing")
    assert unknown.returncode == 2 and unknown.stderr.startswith("No area 'B2B Nothing'; the areas are: ")


def test_the_python_sdk_raises_the_error_with_its_message(server, project):
    client = stytch.B2BClient(project.project_id, project.secret, environment=server.base_url)
    with pytest.raises(StytchError) as raised:
        client.sessions.attest(profile_id="profile-1", token="token-from-elsewhere")
    assert raised.value.details.error_type == "endpoint_not_implemented"
    assert raised.value.details.status_code == 501
    assert "B2B Sessions: sessions.attest" in raised.value.details.error_message
