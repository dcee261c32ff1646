"""Single-use secrets under concurrency: N parallel redemptions, exactly one success, on
SQLite and PostgreSQL. The requests really are parallel HTTP calls to the running server."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.flows import new_email
from tests.support import link_params

N = 20


def race(project: Any, path: str, body: dict[str, Any]) -> list[requests.Response]:
    """POST the same body N times at once (a barrier lines the threads up)."""
    url = f"{project.server.base_url}{path.lstrip('/')}"
    barrier = threading.Barrier(N)

    def one(_: int) -> requests.Response:
        with requests.Session() as session:
            session.auth = project.auth
            barrier.wait(timeout=30)
            return session.post(url, json=body, timeout=60)

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(one, range(N)))


def outcomes(responses: list[requests.Response]) -> Counter[tuple[int, str]]:
    return Counter((r.status_code, r.json().get("error_type", "ok")) for r in responses)


def post(http: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = http.post(f"{http.base_url}{path.lstrip('/')}", json=body, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def discovery_token(http: Any, inbox: Any, email: str) -> str:
    post(http, "/v1/b2b/magic_links/email/discovery/send", {"email_address": email})
    return link_params(inbox.latest_link(email))["token"]


def intermediate_session(http: Any, inbox: Any, email: str) -> str:
    token = discovery_token(http, inbox, email)
    body = post(http, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})
    return body["intermediate_session_token"]


def test_discovery_magic_link_redeemed_concurrently_succeeds_once(project, http, inbox):
    token = discovery_token(http, inbox, new_email())
    results = outcomes(
        race(project, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})
    )
    assert results[(200, "ok")] == 1
    assert sum(results.values()) == N
    assert set(results) <= {(200, "ok"), (401, "unable_to_auth_magic_link"), (404, "magic_link_not_found")}


def test_organization_magic_link_redeemed_concurrently_succeeds_once(project, http, inbox):
    founder = new_email()
    ist = intermediate_session(http, inbox, founder)
    org = post(
        http, "/v1/b2b/discovery/organizations/create", {"intermediate_session_token": ist, "organization_name": "Acme"}
    )["organization"]
    guest = new_email("racer", "elsewhere.test")
    post(http, "/v1/b2b/magic_links/email/invite", {"organization_id": org["organization_id"], "email_address": guest})
    token = link_params(inbox.latest_link(guest))["token"]
    responses = race(project, "/v1/b2b/magic_links/authenticate", {"magic_links_token": token})
    results = outcomes(responses)
    assert results[(200, "ok")] == 1
    assert set(results) <= {(200, "ok"), (401, "unable_to_auth_magic_link"), (404, "magic_link_not_found")}
    sessions = {r.json()["member_session"]["member_session_id"] for r in responses if r.status_code == 200}
    assert len(sessions) == 1


def test_intermediate_session_exchanged_concurrently_succeeds_once(project, http, inbox):
    founder = new_email()
    org = post(
        http,
        "/v1/b2b/discovery/organizations/create",
        {
            "intermediate_session_token": intermediate_session(http, inbox, founder),
            "organization_name": "Acme",
            "email_allowed_domains": ["acme.test"],
            "email_jit_provisioning": "RESTRICTED",
        },
    )["organization"]
    # A JIT join: the winner also creates the member, so losers must not create a second one.
    ist = intermediate_session(http, inbox, new_email())
    responses = race(
        project,
        "/v1/b2b/discovery/intermediate_sessions/exchange",
        {"intermediate_session_token": ist, "organization_id": org["organization_id"]},
    )
    results = outcomes(responses)
    assert results[(200, "ok")] == 1
    assert set(results) <= {(200, "ok"), (404, "intermediate_session_not_found")}


def test_intermediate_session_used_concurrently_to_create_organizations_creates_one(project, http, inbox):
    ist = intermediate_session(http, inbox, new_email())
    results = outcomes(race(project, "/v1/b2b/discovery/organizations/create", {"intermediate_session_token": ist}))
    assert results[(200, "ok")] == 1
    assert set(results) <= {(200, "ok"), (404, "intermediate_session_not_found")}


def test_concurrent_signups_of_one_new_email_create_one_member(project, http, inbox):
    org = post(
        http,
        "/v1/b2b/discovery/organizations/create",
        {
            "intermediate_session_token": intermediate_session(http, inbox, new_email()),
            "organization_name": "Acme",
            "email_allowed_domains": ["acme.test"],
            "email_jit_provisioning": "RESTRICTED",
        },
    )["organization"]
    responses = race(
        project,
        "/v1/b2b/magic_links/email/login_or_signup",
        {"organization_id": org["organization_id"], "email_address": new_email()},
    )
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses if r.status_code != 200]
    bodies = [r.json() for r in responses]
    assert sum(b["member_created"] for b in bodies) == 1
    assert len({b["member_id"] for b in bodies}) == 1
