"""Consumer single-use secrets and find-or-create under concurrency, on SQLite and
PostgreSQL: N parallel requests, exactly one winner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.flows import new_email

PARALLEL = 20


def _together(project: Any, path: str, payload: dict[str, Any]) -> list[requests.Response]:
    """Send the same request PARALLEL times, released at once."""
    url = f"{project.server.base_url}{path}"
    gate = threading.Barrier(PARALLEL)

    def one(_: int) -> requests.Response:
        with requests.Session() as session:
            session.auth = project.auth
            gate.wait()
            return session.post(url, json=payload, timeout=60)

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(one, range(PARALLEL)))


def test_one_magic_link_redeemed_in_parallel_succeeds_once(project, inbox, http):
    email = new_email("race")
    http.post(f"{http.base_url}v1/magic_links/email/login_or_create", json={"email": email}, timeout=10)
    token = inbox.latest_token(email)

    results = _together(project, "v1/magic_links/authenticate", {"token": token, "session_duration_minutes": 60})

    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [401] * (PARALLEL - 1)
    assert {r.json()["error_type"] for r in results if r.status_code == 401} == {"unable_to_auth_magic_link"}


def test_one_magic_link_redeemed_in_parallel_starts_one_session(project, inbox, http):
    email = new_email("race")
    user_id = http.post(
        f"{http.base_url}v1/magic_links/email/login_or_create", json={"email": email}, timeout=10
    ).json()["user_id"]
    token = inbox.latest_token(email)

    _together(project, "v1/magic_links/authenticate", {"token": token, "session_duration_minutes": 60})

    sessions = http.get(f"{http.base_url}v1/sessions", params={"user_id": user_id}, timeout=10).json()["sessions"]
    assert len(sessions) == 1


def test_parallel_login_or_create_for_a_new_email_makes_one_user(project, http):
    email = new_email("race")

    results = _together(project, "v1/magic_links/email/login_or_create", {"email": email})

    assert {r.status_code for r in results} == {200}
    assert len({r.json()["user_id"] for r in results}) == 1
    assert sum(r.json()["user_created"] for r in results) == 1
