"""Rate limits: 429 `too_many_requests` in Stytch's envelope, nothing written, for an
address emailed too often, a client guessing tokens, a token whose PKCE verifier is being
guessed, and a project past the cap its operator set (there is none by default). Counters
in process and in Redis; with Redis, every worker shares them.

Each test runs against a keystile started with tightened limits (both databases, both
storages) and uses a fresh project, so the counters of one test never reach another.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import stytch
from stytch.core.response_base import StytchError

from keystile.config import Settings
from keystile.core import ratelimit, sandbox
from keystile.core.area import Area, Registry
from tests.flows import impersonate, new_email
from tests.support import (
    Inbox,
    Server,
    database_url,
    make_project,
    require_redis,
    start_server,
)

PROJECT_LIMIT = 12
LIMITS = {
    "rate_limit_project": f"{PROJECT_LIMIT}/minute",
    "rate_limit_email": "2/minute",
    "rate_limit_unknown_token_ip": "3/minute",
    "rate_limit_token_failures": "2/minute",
}

# A PKCE verifier and its S256 challenge (RFC 7636 §4.2).
VERIFIER = "limits-verifier-" + "v" * 40
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


_servers: dict[str, Server] = {}


@pytest.fixture(scope="module", autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    for running in _servers.values():
        running.stop()
    _servers.clear()


def limited_server(backend: str, storage: str, tmp_path_factory: pytest.TempPathFactory, shared: Server) -> Server:
    """On PostgreSQL, the run's database (`shared`, the session's server on it): the counters
    live in the process or in Redis, never in the database, and every test has a project of
    its own, so a second fresh database (CREATE DATABASE and every migration, seconds on a
    busy machine) buys nothing."""
    key = f"{backend}-{storage}"
    if key not in _servers:
        redis_url = require_redis() if storage == "redis" else None
        if backend == "postgres":  # its data directory too: the master key that reads its signing keys
            data_dir, url = shared.settings.data_dir, shared.settings.database_url
        else:
            data_dir = tmp_path_factory.mktemp(f"keystile-rl-{key}")
            url = database_url(backend, data_dir, storage)
        _servers[key] = start_server(backend, data_dir, url, redis_url=redis_url, **LIMITS)
    return _servers[key]


@pytest.fixture(params=["memory", "redis"])
def limited(request: pytest.FixtureRequest, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """A keystile with tight limits, counting in process or in Redis."""
    return limited_server(server.backend, request.param, tmp_path_factory, server)


class Client:
    """A fresh project on `server`, spoken to over plain HTTP."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.project = make_project(server)
        self.session = requests.Session()
        self.session.auth = self.project.auth
        self.inbox = Inbox(server.base_url)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.server.base_url}{path}", json=body, timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.server.base_url}{path}", timeout=30)

    def discovery_send(self, email: str, **extra: Any) -> requests.Response:
        return self.post("v1/b2b/magic_links/email/discovery/send", {"email_address": email, **extra})

    def discovery_authenticate(self, token: str, **extra: Any) -> requests.Response:
        return self.post("v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token, **extra})


def assert_too_many(resp: requests.Response) -> None:
    assert resp.status_code == 429, resp.text
    body = resp.json()
    assert body["status_code"] == 429
    assert body["error_type"] == "too_many_requests"
    assert body["error_message"] == "Too many requests have been made."
    assert body["request_id"]
    assert body["error_url"].endswith("#too_many_requests")


class TestProjectLimit:
    def test_requests_past_the_project_limit_get_too_many_requests(self, limited):
        client = Client(limited)
        for _ in range(PROJECT_LIMIT):
            assert client.get("v1/b2b/organizations/organization-test-nope").status_code == 404

        assert_too_many(client.get("v1/b2b/organizations/organization-test-nope"))

    def test_each_project_has_its_own_budget(self, limited):
        busy, quiet = Client(limited), Client(limited)
        for _ in range(PROJECT_LIMIT + 1):
            busy.get("v1/b2b/organizations/organization-test-nope")

        assert quiet.get("v1/b2b/organizations/organization-test-nope").status_code == 404

    def test_bad_credentials_do_not_spend_the_projects_budget(self, limited):
        client = Client(limited)
        wrong = requests.Session()
        wrong.auth = (client.project.project_id, "secret-test-wrong")
        for _ in range(PROJECT_LIMIT + 1):
            assert wrong.get(f"{limited.base_url}v1/b2b/organizations/x", timeout=30).status_code == 401

        assert client.get("v1/b2b/organizations/organization-test-nope").status_code == 404

    def test_a_request_refused_as_malformed_does_not_spend_the_budget(self, limited):
        client = Client(limited)
        for _ in range(PROJECT_LIMIT + 5):
            assert client.post("v1/b2b/organizations", {"organization_name": 7}).status_code == 400

        for _ in range(PROJECT_LIMIT):
            assert client.get("v1/b2b/organizations/organization-test-nope").status_code == 404
        assert_too_many(client.get("v1/b2b/organizations/organization-test-nope"))


class TestDefaults:
    """Defaults protect without throttling: no project-wide cap, the abuse limits on."""

    def test_no_project_cap_unless_the_operator_sets_one(self):
        limiter = ratelimit.Limiter(Settings())

        assert limiter.windows(ratelimit.PROJECT) == []
        assert [str(w) for w in limiter.windows(ratelimit.EMAIL)] == ["20 per 1 hour", "50 per 1 day"]
        assert limiter.windows(ratelimit.UNKNOWN_TOKEN_IP)
        assert limiter.windows(ratelimit.TOKEN_FAILURES)

    def test_sessions_authenticate_asks_the_limiter_nothing_without_a_cap(self, backend, tmp_path_factory):
        data_dir = tmp_path_factory.mktemp("keystile-rl-defaults")
        server = start_server(backend, data_dir, database_url(backend, data_dir, "defaults"), redis_url=require_redis())
        try:
            client = Client(server)
            email = new_email()
            client.post("v1/magic_links/email/login_or_create", {"email": email})
            login = client.post(
                "v1/magic_links/authenticate",
                {"token": client.inbox.latest_token(email), "session_duration_minutes": 60},
            ).json()
            asked: list[tuple[Any, ...]] = []
            limiter = server.state.limiter
            real = limiter._ask

            async def counting(*args: Any) -> bool:
                asked.append(args)
                return await real(*args)

            limiter._ask = counting
            for _ in range(5):
                by_token = client.post("v1/sessions/authenticate", {"session_token": login["session_token"]})
                by_jwt = client.post("v1/sessions/authenticate", {"session_jwt": login["session_jwt"]})
                assert (by_token.status_code, by_jwt.status_code) == (200, 200)

            assert asked == []
        finally:
            server.stop()


class TestDeclaredLimits:
    """An area declares its limit once (`Area.rate_limits`); the operator tunes it by name."""

    LIMIT = ratelimit.Limit("tests_declared", "3/minute")

    def windows(self, **settings: Any) -> list[str]:
        limiter = ratelimit.Limiter(Settings(**settings), limits=[self.LIMIT])
        return [str(w) for w in limiter.windows(self.LIMIT)]

    def test_a_declared_limit_has_its_default(self):
        assert self.windows() == ["3 per 1 minute"]

    def test_the_operator_sets_it_by_name(self):
        assert self.windows(rate_limits={"tests_declared": "1/second;10/hour"}) == ["1 per 1 second", "10 per 1 hour"]

    def test_the_operator_turns_it_off_with_an_empty_value(self):
        assert self.windows(rate_limits={"tests_declared": ""}) == []

    def test_a_malformed_value_stops_the_server_at_start(self):
        with pytest.raises(ValueError, match="tests_declared"):
            self.windows(rate_limits={"tests_declared": "often"})

    def test_a_name_core_declares_cannot_be_declared_again(self):
        with pytest.raises(ValueError, match="declared twice"):
            ratelimit.Limiter(Settings(), limits=[ratelimit.Limit("email", "5/minute")])

    def test_two_areas_cannot_declare_one_name(self):
        first = Area(name="first", rate_limits=[self.LIMIT])
        second = Area(name="second", rate_limits=[ratelimit.Limit("tests_declared", "5/minute")])

        with pytest.raises(ValueError, match="rate limit 'tests_declared' is declared by two areas"):
            Registry((first, second))


class TestEmailLimit:
    def test_third_email_to_one_address_within_a_minute_is_refused(self, limited):
        client, email = Client(limited), new_email("limit")
        assert client.discovery_send(email).status_code == 200
        assert client.discovery_send(email).status_code == 200

        assert_too_many(client.discovery_send(email))

    def test_sandbox_sends_write_no_email_and_count_for_nothing(self, limited):
        client = Client(limited)

        assert [client.discovery_send(sandbox.EMAIL).status_code for _ in range(4)] == [200] * 4

    def test_a_refused_send_writes_no_email(self, limited):
        client, email = Client(limited), new_email("limit")
        for _ in range(3):
            client.discovery_send(email)

        assert len(client.inbox.messages(email)) == 2

    def test_spellings_of_one_address_share_its_limit(self, limited):
        client, email = Client(limited), new_email("limit")
        client.discovery_send(email)
        client.discovery_send(email.upper())

        assert_too_many(client.discovery_send(email))

    def test_other_addresses_are_not_limited(self, limited):
        client, email = Client(limited), new_email("limit")
        client.discovery_send(email)
        client.discovery_send(email)

        assert client.discovery_send(new_email("limit")).status_code == 200

    def test_consumer_emails_count_too(self, limited):
        client, email = Client(limited), new_email("limit")
        client.post("v1/magic_links/email/login_or_create", {"email": email})
        client.post("v1/magic_links/email/login_or_create", {"email": email})

        assert_too_many(client.post("v1/magic_links/email/login_or_create", {"email": email}))

    def test_a_refused_consumer_send_creates_no_user(self, limited):
        client, email = Client(limited), new_email("limit")
        client.discovery_send(email)
        client.discovery_send(email)

        assert_too_many(client.post("v1/magic_links/email/login_or_create", {"email": email}))
        search = client.post(
            "v1/users/search",
            {"query": {"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": [email]}]}},
        )
        assert search.json()["results"] == []

    def test_the_sdk_raises_too_many_requests(self, limited):
        project = make_project(limited)
        client = stytch.B2BClient(project.project_id, project.secret, environment=limited.base_url)
        email = new_email("limit")
        client.magic_links.email.discovery.send(email_address=email)
        client.magic_links.email.discovery.send(email_address=email)

        with pytest.raises(StytchError) as raised:
            client.magic_links.email.discovery.send(email_address=email)
        assert raised.value.details.error_type == "too_many_requests"
        assert raised.value.details.status_code == 429


class TestUnknownTokens:
    def test_a_client_guessing_tokens_is_refused_after_three_unknown_ones(self, limited):
        client = Client(limited)
        for _ in range(3):
            assert client.discovery_authenticate(f"guess-{uuid.uuid4().hex}").status_code == 404

        assert_too_many(client.discovery_authenticate(f"guess-{uuid.uuid4().hex}"))

    def test_a_blocked_client_is_refused_even_a_real_token(self, limited):
        client, email = Client(limited), new_email("limit")
        client.discovery_send(email)
        token = client.inbox.latest_token(email)
        for _ in range(3):
            client.discovery_authenticate(f"guess-{uuid.uuid4().hex}")

        assert_too_many(client.discovery_authenticate(token))

    def test_used_tokens_are_not_guesses(self, limited):
        client, email = Client(limited), new_email("limit")
        client.discovery_send(email)
        token = client.inbox.latest_token(email)
        assert client.discovery_authenticate(token).status_code == 200

        statuses = [client.discovery_authenticate(token).status_code for _ in range(4)]

        assert statuses == [401] * 4

    def test_unknown_intermediate_sessions_count_as_guesses(self, limited):
        client = Client(limited)
        for _ in range(3):
            resp = client.post(
                "v1/b2b/discovery/organizations",
                {"intermediate_session_token": f"guess-{uuid.uuid4().hex}"},
            )
            assert resp.status_code == 404

        assert_too_many(
            client.post("v1/b2b/discovery/organizations", {"intermediate_session_token": f"guess-{uuid.uuid4().hex}"})
        )

    def test_consumer_unknown_tokens_count_as_guesses(self, limited):
        client = Client(limited)
        for _ in range(3):
            assert client.post("v1/magic_links/authenticate", {"token": f"guess-{uuid.uuid4().hex}"}).status_code == 404

        assert_too_many(client.post("v1/magic_links/authenticate", {"token": f"guess-{uuid.uuid4().hex}"}))

    def test_sandbox_failure_tokens_are_not_guesses(self, limited):
        """Stytch's documented sandbox values (core/sandbox.py) fail the same way every time,
        however often an app's test suite sends them."""
        client = Client(limited)
        links = [client.discovery_authenticate(sandbox.MAGIC_LINK_NOT_FOUND).status_code for _ in range(4)]
        sessions = [
            client.post("v1/sessions/authenticate", {"session_token": sandbox.SESSION_NOT_FOUND}).status_code
            for _ in range(4)
        ]

        assert links == sessions == [404] * 4
        assert client.discovery_authenticate(f"guess-{uuid.uuid4().hex}").status_code == 404

    @pytest.mark.parametrize("path", ["v1/b2b/impersonation/authenticate", "v1/impersonation/authenticate"])
    def test_unknown_impersonation_tokens_count_as_guesses(self, limited, path):
        client = Client(limited)
        for _ in range(3):
            assert client.post(path, {"impersonation_token": f"guess-{uuid.uuid4().hex}"}).status_code == 401

        assert_too_many(client.post(path, {"impersonation_token": f"guess-{uuid.uuid4().hex}"}))

    def test_used_impersonation_tokens_are_not_guesses(self, limited):
        client = Client(limited)
        user_id = client.post("v1/users", {"email": new_email("limit")}).json()["user_id"]
        token = impersonate(client.project, "--user", user_id)["token"]
        assert client.post("v1/impersonation/authenticate", {"impersonation_token": token}).status_code == 200

        statuses = [
            client.post("v1/impersonation/authenticate", {"impersonation_token": token}).status_code for _ in range(4)
        ]

        assert statuses == [401] * 4


class TestTokenFailures:
    def test_a_token_whose_verifier_is_guessed_is_locked(self, limited):
        client, email = Client(limited), new_email("limit")
        client.discovery_send(email, pkce_code_challenge=CHALLENGE)
        token = client.inbox.latest_token(email)
        for _ in range(2):
            wrong = client.discovery_authenticate(token, pkce_code_verifier=f"wrong-{uuid.uuid4().hex}{'x' * 20}")
            assert wrong.json()["error_type"] == "pkce_mismatch"

        assert_too_many(client.discovery_authenticate(token, pkce_code_verifier=VERIFIER))

    def test_another_token_of_the_same_client_still_works(self, limited):
        client, first, second = Client(limited), new_email("limit"), new_email("limit")
        client.discovery_send(first, pkce_code_challenge=CHALLENGE)
        locked = client.inbox.latest_token(first)
        client.discovery_send(second, pkce_code_challenge=CHALLENGE)
        fine = client.inbox.latest_token(second)
        for _ in range(2):
            client.discovery_authenticate(locked, pkce_code_verifier=f"wrong-{uuid.uuid4().hex}{'x' * 20}")

        assert client.discovery_authenticate(fine, pkce_code_verifier=VERIFIER).status_code == 200


@pytest.fixture(scope="module")
def shared_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keystile-rl-workers")


def two_workers(data_dir: Path, storage: str) -> tuple[Server, Server]:
    """Two keystile processes' worth of app (each its own limiter) on one SQLite database."""
    key = f"workers-{storage}"
    if key not in _servers:
        redis_url = require_redis() if storage == "redis" else None
        url = f"sqlite:///{data_dir / 'keystile.db'}"
        _servers[key] = start_server("sqlite", data_dir, url, redis_url=redis_url, **LIMITS)
        _servers[f"{key}-2"] = start_server("sqlite", data_dir, url, redis_url=redis_url, **LIMITS)
    return _servers[key], _servers[f"{key}-2"]


class TestAcrossWorkers:
    def test_workers_share_the_redis_counter(self, shared_database):
        first, second = two_workers(shared_database / "redis", "redis")
        project = make_project(first)
        email = new_email("limit")

        def send(server: Server) -> requests.Response:
            return requests.post(
                f"{server.base_url}v1/b2b/magic_links/email/discovery/send",
                json={"email_address": email},
                auth=project.auth,
                timeout=30,
            )

        assert send(first).status_code == 200
        assert send(second).status_code == 200
        assert_too_many(send(first))

    def test_without_redis_each_worker_counts_alone(self, shared_database):
        first, second = two_workers(shared_database / "memory", "memory")
        project = make_project(first)
        email = new_email("limit")

        def send(server: Server) -> requests.Response:
            return requests.post(
                f"{server.base_url}v1/b2b/magic_links/email/discovery/send",
                json={"email_address": email},
                auth=project.auth,
                timeout=30,
            )

        assert [send(first).status_code, send(first).status_code] == [200, 200]
        assert send(second).status_code == 200
