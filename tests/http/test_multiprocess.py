"""keystile as it runs in production: `keystile serve --workers 3` on PostgreSQL and Redis,
email by SMTP to a real SMTP server (aiosmtpd on loopback). The B2B discovery flow runs 200
times at once: no error, one email per flow, and every session valid in every process.

`Cluster` and `SMTPSink` live in tests/support.py (tests/sdk/test_outbox_delivery.py uses them too).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
import stytch

from tests.support import (
    CLUSTER_PROCESS_CONNECTIONS,
    REDIRECT_PATH,
    REDIRECT_URL,
    Cluster,
    SMTPSink,
    link_params,
    require_redis,
    through_redirect_page,
)

FLOWS = 200


@pytest.fixture(scope="module")
def sink() -> Iterator[SMTPSink]:
    with SMTPSink() as running:
        yield running


@pytest.fixture(scope="module")
def cluster(sink: SMTPSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str, str]]:
    """Three workers behind one port, plus one more single process on the same database."""
    redis_url = require_redis()
    running = Cluster("multiprocess", tmp_path_factory.mktemp("keystile-cluster"), sink.url, redis_url=redis_url)
    try:
        workers = running.serve(3)
        other = running.serve(1)
        yield running, workers, other
    finally:
        running.stop()


@dataclass
class Flow:
    email: str
    session_token: str | None = None
    session_jwt: str | None = None
    error: str | None = None


def discovery_flow(base_url: str, project: dict[str, str], sink: SMTPSink) -> Flow:
    """Discovery email by SMTP → intermediate session → new organization and member session."""
    flow = Flow(f"flow-{uuid.uuid4().hex[:12]}@example.com")
    client = stytch.B2BClient(project["project_id"], project["secret"], environment=base_url)
    try:
        client.magic_links.email.discovery.send(email_address=flow.email)
        mail = sink.wait_for(flow.email)
        emailed = next(word for word in mail.text.split() if word.startswith(base_url + REDIRECT_PATH.lstrip("/")))
        # keystile's redirect page, passed as a browser does: its GET and POST may reach two workers.
        link = through_redirect_page(emailed)
        assert link.startswith(REDIRECT_URL), link
        ist = client.magic_links.discovery.authenticate(
            discovery_magic_links_token=link_params(link)["token"]
        ).intermediate_session_token
        created = client.discovery.organizations.create(
            intermediate_session_token=ist, organization_name=f"Org {uuid.uuid4().hex[:8]}", session_duration_minutes=60
        )
        flow.session_token, flow.session_jwt = created.session_token, created.session_jwt
    except Exception as exc:  # reported all together by the test
        flow.error = f"{type(exc).__name__}: {exc}"
    return flow


@pytest.fixture(scope="module")
def flows(cluster: tuple[Cluster, str, str], sink: SMTPSink) -> tuple[list[Flow], dict[str, str]]:
    running, workers, _ = cluster
    project = running.create_project()
    with ThreadPoolExecutor(40) as pool:
        done = list(pool.map(lambda _: discovery_flow(workers, project, sink), range(FLOWS)))
    return done, project


def authenticate(base_url: str, project: dict[str, str], **credential: str) -> int:
    resp = requests.post(
        f"{base_url}v1/b2b/sessions/authenticate",
        json=credential,
        auth=(project["project_id"], project["secret"]),
        headers={"Connection": "close"},  # a new connection each time: any worker may answer
        timeout=30,
    )
    return resp.status_code


class TestThreeWorkers:
    def test_every_flow_succeeds(self, flows):
        done, _ = flows

        assert [f.error for f in done if f.error] == []

    def test_each_flow_got_exactly_one_email(self, flows, sink):
        done, _ = flows
        received = Counter(address for mail in sink.received for address in mail.to)

        assert {received[f.email] for f in done} == {1}

    def test_no_message_id_arrived_twice(self, flows, sink):
        assert [mid for mid, n in sink.message_ids().items() if n > 1] == []

    def test_every_session_token_is_valid_on_the_workers(self, flows, cluster):
        done, project = flows
        _, workers, _ = cluster
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda f: authenticate(workers, project, session_token=f.session_token), done))

        assert set(statuses) == {200}

    def test_every_session_jwt_is_valid_on_the_workers(self, flows, cluster):
        done, project = flows
        _, workers, _ = cluster
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda f: authenticate(workers, project, session_jwt=f.session_jwt), done))

        assert set(statuses) == {200}

    def test_every_session_is_valid_in_a_process_that_served_none_of_the_flows(self, flows, cluster):
        done, project = flows
        _, _, other = cluster
        with ThreadPoolExecutor(16) as pool:
            by_token = list(pool.map(lambda f: authenticate(other, project, session_token=f.session_token), done))
            by_jwt = list(pool.map(lambda f: authenticate(other, project, session_jwt=f.session_jwt), done))

        assert set(by_token) | set(by_jwt) == {200}

    def test_no_process_holds_more_connections_than_its_budget(self, flows, cluster):
        running, _, _ = cluster

        rows = running.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

        # 3 workers and 1 more process, each within KEYSTILE_DATABASE_CONNECTIONS
        assert 0 < rows[0]["n"] <= 4 * CLUSTER_PROCESS_CONNECTIONS

    def test_every_message_is_marked_sent(self, flows, cluster):
        running, _, _ = cluster

        rows = running.query("SELECT status, count(*) AS n FROM outbox GROUP BY status")

        assert {r["status"]: r["n"] for r in rows} == {"sent": FLOWS}

    def test_a_clock_advance_reaches_every_process_before_it_answers(self, flows, cluster):
        # Last in the class: it ends the flows' 60-minute sessions.
        done, project = flows
        _, workers, other = cluster
        sample = done[:48]
        with ThreadPoolExecutor(16) as pool:  # every process now holds the project, offset 0
            warm = list(pool.map(lambda f: authenticate(workers, project, session_token=f.session_token), sample))
            warm += [authenticate(other, project, session_token=f.session_token) for f in sample[:4]]
        assert set(warm) == {200}

        moved = requests.post(
            f"{workers}dev/clock/advance",
            json={"duration": "61m"},
            auth=(project["project_id"], project["secret"]),
            timeout=30,
        )
        assert moved.status_code == 200, moved.text

        with ThreadPoolExecutor(16) as pool:
            on_workers = list(pool.map(lambda f: authenticate(workers, project, session_token=f.session_token), sample))
            elsewhere = [authenticate(other, project, session_token=f.session_token) for f in sample[:8]]
        assert set(on_workers) | set(elsewhere) == {404}
