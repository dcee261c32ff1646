"""Outbox delivery (docs/decisions/0006-outbox-delivery.md): every process delivers, one
message at a time is claimed, sent by SMTP outside any transaction and marked sent; SMTP
failures retry with backoff and end `failed`, visible in `keystile outbox list --failed`.

The first two classes run `keystile serve` processes on PostgreSQL against a real SMTP
server (aiosmtpd): 500 magic links arrive once each; with a worker killed by SIGKILL in the
middle of an SMTP exchange before the server has the message, every message still arrives
exactly once; and with a worker killed inside the handover window (the server accepting its
message), the one caught there arrives twice with the same Message-ID, as the ADR promises. The last class drives one
in-process keystile per database with the injected clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import insert, select

from keystile.models.outbox import outbox
from tests.support import Cluster, Mail, Server, SMTPSink, database_url, keystile_in_process, make_project, start_server

MESSAGES = 500
DEADLINE_SECONDS = 60


def send_all(base_url: str, project: dict[str, str], count: int) -> list[int]:
    """`count` discovery magic links to as many addresses, 32 at a time; their statuses."""

    def one(i: int) -> int:
        resp = requests.post(
            f"{base_url}v1/b2b/magic_links/email/discovery/send",
            json={"email_address": f"bulk-{i}-{uuid.uuid4().hex[:8]}@example.com"},
            auth=(project["project_id"], project["secret"]),
            timeout=60,
        )
        return resp.status_code

    with ThreadPoolExecutor(32) as pool:
        return list(pool.map(one, range(count)))


def wait_all_sent(cluster: Cluster, sink: SMTPSink, count: int) -> None:
    """Until every outbox row is `sent` and the SMTP server holds `count` distinct messages."""
    assert sink.wait_until(lambda got: len({m.message_id for m in got}) >= count, DEADLINE_SECONDS)
    for _ in range(DEADLINE_SECONDS * 10):
        if cluster.query("SELECT count(*) AS n FROM outbox WHERE status <> 'sent'")[0]["n"] == 0:
            return
        asyncio.run(asyncio.sleep(0.1))
    pytest.fail("outbox messages still unsent")


@pytest.fixture(scope="class")
def three_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, SMTPSink, dict[str, str]]]:
    with SMTPSink() as sink:
        cluster = Cluster("outbox500", tmp_path_factory.mktemp("keystile-outbox500"), sink.url)
        try:
            base_url = cluster.serve(3)
            project = cluster.create_project()
            statuses = send_all(base_url, project, MESSAGES)
            assert set(statuses) == {200}
            wait_all_sent(cluster, sink, MESSAGES)
            yield cluster, sink, project
        finally:
            cluster.stop()


class TestThreeWorkersDeliverOnce:
    def test_all_500_messages_arrive(self, three_workers):
        _, sink, _ = three_workers

        assert len(sink.message_ids()) == MESSAGES

    def test_no_message_arrives_twice(self, three_workers):
        _, sink, _ = three_workers

        assert [mid for mid, n in sink.message_ids().items() if n > 1] == []

    def test_every_message_arrives_at_its_own_address(self, three_workers):
        _, sink, _ = three_workers

        assert len({address for m in sink.received for address in m.to}) == MESSAGES

    def test_the_workers_share_the_delivery(self, three_workers):
        cluster, _, _ = three_workers

        senders = cluster.query("SELECT DISTINCT split_part(claimed_by, ':', 2) AS pid FROM outbox")

        assert len(senders) >= 2


@pytest.fixture(scope="class")
def killed_mid_delivery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An API process takes the 500 sends; three more workers help deliver. When the SMTP
    server holds the 100th message or later and its sender is one of the three workers, that
    worker is killed with SIGKILL before the server answers 250: it dies with the message
    handed over but not marked sent, the window the ADR names."""
    with SMTPSink() as sink:
        # A short claim timeout so the dead worker's claim is taken over within the test.
        cluster = Cluster(
            "outboxkill", tmp_path_factory.mktemp("keystile-outboxkill"), sink.url, outbox_claim_timeout_seconds="3"
        )
        try:
            workers_url = cluster.serve(3)
            helpers = set(cluster.workers(cluster.processes[0]))
            api_url = cluster.serve(1)
            project = cluster.create_project()
            killed: dict[str, Any] = {}
            looking = False

            async def on_message(mail: Mail) -> None:
                nonlocal looking
                await asyncio.sleep(0.01)  # an SMTP server's latency, so deliveries overlap
                # One look at a time (set before any await): exactly one worker is killed.
                if killed or looking or len(sink.received) < 100:
                    return
                looking = True
                message_id = mail.message_id.strip("<>").split("@")[0]
                rows = await cluster.aquery("SELECT claimed_by FROM outbox WHERE message_id = $1", message_id)
                pid = int(rows[0]["claimed_by"].split(":")[1])
                if pid in helpers:
                    os.kill(pid, signal.SIGKILL)
                    killed.update(pid=pid, message_id=mail.message_id)
                looking = False

            sink.on_message = on_message
            statuses = send_all(api_url, project, MESSAGES)
            assert set(statuses) == {200}
            wait_all_sent(cluster, sink, MESSAGES)
            assert killed, "no helper worker was caught delivering"
            yield {"sink": sink, "cluster": cluster, "workers_url": workers_url, **killed}
        finally:
            cluster.stop()


class TestWorkerKilledMidDelivery:
    def test_the_worker_really_died(self, killed_mid_delivery):
        with pytest.raises(ProcessLookupError):
            os.kill(killed_mid_delivery["pid"], 0)

    def test_every_message_arrives(self, killed_mid_delivery):
        assert len(killed_mid_delivery["sink"].message_ids()) == MESSAGES

    def test_only_the_message_in_flight_arrives_twice_with_one_message_id(self, killed_mid_delivery):
        counts = killed_mid_delivery["sink"].message_ids()

        assert {mid: n for mid, n in counts.items() if n > 1} == {killed_mid_delivery["message_id"]: 2}

    def test_every_message_ends_sent(self, killed_mid_delivery):
        rows = killed_mid_delivery["cluster"].query("SELECT status, count(*) AS n FROM outbox GROUP BY status")

        assert {r["status"]: r["n"] for r in rows} == {"sent": MESSAGES}


class EnvelopeKillSink(SMTPSink):
    """Runs `on_recipient(address)` when a sender names its recipient, before any DATA."""

    on_recipient: Any = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if self.on_recipient is not None:
            await self.on_recipient(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture(scope="class")
def killed_before_acceptance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """As above, but the worker dies in the middle of the SMTP exchange before the server has
    the message (between RCPT and the end of DATA): the server drops the half-open
    transaction, the claim goes stale, another process sends it, and it arrives once."""
    with EnvelopeKillSink() as sink:
        cluster = Cluster(
            "outboxkill2", tmp_path_factory.mktemp("keystile-outboxkill2"), sink.url, outbox_claim_timeout_seconds="3"
        )
        try:
            cluster.serve(3)
            helpers = set(cluster.workers(cluster.processes[0]))
            api_url = cluster.serve(1)
            project = cluster.create_project()
            killed: dict[str, Any] = {}
            looking = False

            async def on_recipient(address: str) -> None:
                nonlocal looking
                if killed or looking or len(sink.received) < 100:
                    return
                looking = True
                rows = await cluster.aquery("SELECT message_id, claimed_by FROM outbox WHERE to_address = $1", address)
                pid = int(rows[0]["claimed_by"].split(":")[1])
                if pid in helpers:
                    os.kill(pid, signal.SIGKILL)
                    killed.update(pid=pid, message_id=f"<{rows[0]['message_id']}@keystile>", address=address)
                looking = False

            sink.on_recipient = on_recipient
            statuses = send_all(api_url, project, MESSAGES)
            assert set(statuses) == {200}
            wait_all_sent(cluster, sink, MESSAGES)
            assert killed, "no helper worker was caught delivering"
            yield {"sink": sink, "cluster": cluster, **killed}
        finally:
            cluster.stop()


def process_is_gone(pid: int) -> bool:
    """Dead: no such process, or a zombie its parent has not reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


class TestWorkerKilledBeforeTheServerHasTheMessage:
    def test_the_worker_really_died(self, killed_before_acceptance):
        assert process_is_gone(killed_before_acceptance["pid"])

    def test_every_message_arrives_exactly_once(self, killed_before_acceptance):
        counts = killed_before_acceptance["sink"].message_ids()

        assert len(counts) == MESSAGES
        assert set(counts.values()) == {1}

    def test_the_interrupted_message_was_sent_by_another_process(self, killed_before_acceptance):
        rows = killed_before_acceptance["cluster"].query(
            "SELECT status, claimed_by FROM outbox WHERE to_address = $1", killed_before_acceptance["address"]
        )

        assert rows[0]["status"] == "sent"
        assert f":{killed_before_acceptance['pid']}" not in (rows[0]["claimed_by"] or "")


# ----------------------------------------------------------------------------- in process


class RefusingSink(SMTPSink):
    """Answers 550 to any message for an address starting with `refuse-`."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if any(r.startswith("refuse-") for r in envelope.rcpt_tos):
            return "550 5.1.1 mailbox unavailable"
        return await super().handle_DATA(server, session, envelope)


MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def refusing_sink() -> Iterator[RefusingSink]:
    with RefusingSink() as sink:
        yield sink


_servers: dict[str, Server] = {}


@pytest.fixture(scope="module", autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    for running in _servers.values():
        running.stop()
    _servers.clear()


@pytest.fixture
def smtp_server(backend: str, refusing_sink: RefusingSink, tmp_path_factory: pytest.TempPathFactory) -> Server:
    if backend not in _servers:
        data_dir = tmp_path_factory.mktemp(f"keystile-outbox-{backend}")
        url = database_url(backend, data_dir, "outbox")
        _servers[backend] = start_server(
            backend, data_dir, url, smtp_url=refusing_sink.url, outbox_max_attempts=MAX_ATTEMPTS
        )
    return _servers[backend]


def row_to(server: Server, email: str) -> Any:
    async def read() -> Any:
        async with server.state.transaction() as conn:
            return (await conn.execute(select(outbox).where(outbox.c.to_normalized == email))).one()

    return server.run(read())


def wait_row(server: Server, email: str, predicate: Any) -> Any:
    for _ in range(DEADLINE_SECONDS * 20):
        row = row_to(server, email)
        if predicate(row):
            return row
        asyncio.run(asyncio.sleep(0.05))
    pytest.fail(f"outbox row for {email} never matched: {row}")


def deliver_due(server: Server) -> None:
    server.run(server.app.state.deliverer.deliver_batch())


def send(server: Server, email: str) -> None:
    project = make_project(server)
    resp = requests.post(
        f"{server.base_url}v1/b2b/magic_links/email/discovery/send",
        json={"email_address": email},
        auth=project.auth,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text


def refused_once(server: Server) -> tuple[str, Any]:
    email = f"refuse-{uuid.uuid4().hex[:10]}@example.com"
    send(server, email)
    return email, wait_row(server, email, lambda r: r.attempts == 1 and r.status == "pending")


def failed_for_good(server: Server) -> tuple[str, Any]:
    email, _ = refused_once(server)
    for attempt in range(2, MAX_ATTEMPTS + 1):
        server.clock.advance(minutes=15)
        deliver_due(server)
        wait_row(server, email, lambda r, n=attempt: r.attempts == n and r.status != "sending")
    return email, row_to(server, email)


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """`keystile outbox …` on the server's database, run in this process (typer's CliRunner)."""
    settings = {
        "KEYSTILE_DATABASE_URL": server.settings.database_url or "",
        "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
        "COLUMNS": "300",
    }
    return keystile_in_process(settings, "outbox", *args)


class TestRetries:
    def test_a_refused_message_waits_for_a_later_attempt(self, smtp_server):
        _, row = refused_once(smtp_server)

        assert row.next_attempt_at > smtp_server.clock.now() + timedelta(seconds=5)

    def test_a_refused_message_keeps_the_smtp_error(self, smtp_server):
        _, row = refused_once(smtp_server)

        assert "550" in row.last_error

    def test_a_message_is_not_retried_before_it_is_due(self, smtp_server):
        email, _ = refused_once(smtp_server)

        deliver_due(smtp_server)

        assert row_to(smtp_server, email).attempts == 1

    def test_a_due_message_is_retried(self, smtp_server):
        email, _ = refused_once(smtp_server)
        smtp_server.clock.advance(minutes=1)

        deliver_due(smtp_server)

        assert wait_row(smtp_server, email, lambda r: r.status != "sending").attempts == 2

    def test_after_the_last_attempt_the_message_is_failed(self, smtp_server):
        _, row = failed_for_good(smtp_server)

        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)

    def test_a_failed_message_is_not_tried_again(self, smtp_server):
        email, _ = failed_for_good(smtp_server)
        smtp_server.clock.advance(hours=2)

        deliver_due(smtp_server)

        assert row_to(smtp_server, email).attempts == MAX_ATTEMPTS


class TestOutboxCommand:
    def test_list_failed_shows_the_failed_message_and_its_error(self, smtp_server):
        email, row = failed_for_good(smtp_server)

        done = cli(smtp_server, "list", "--failed", "--json", "--limit", "1000")

        listed = {m["message_id"]: m for m in json.loads(done.stdout)}
        assert listed[row.message_id]["to"] == email
        assert "550" in listed[row.message_id]["last_error"]

    def test_list_failed_shows_only_failed_messages(self, smtp_server):
        failed_for_good(smtp_server)

        done = cli(smtp_server, "list", "--failed", "--json", "--limit", "1000")

        assert {m["status"] for m in json.loads(done.stdout)} == {"failed"}

    def test_list_prints_a_table(self, smtp_server):
        _, _row = failed_for_good(smtp_server)

        done = cli(smtp_server, "list", "--failed")

        assert done.returncode == 0
        assert "message_id" in done.stdout and "failed" in done.stdout

    def test_retry_queues_a_failed_message_again(self, smtp_server):
        email, row = failed_for_good(smtp_server)

        done = cli(smtp_server, "retry", row.message_id)

        assert "queued 1 message again" in done.stderr
        assert row_to(smtp_server, email).status != "failed" or row_to(smtp_server, email).attempts < MAX_ATTEMPTS


def insert_claimed(server: Server, email: str, claimed_ago: timedelta) -> str:
    """An outbox row another (now silent) process claimed `claimed_ago`."""
    message_id = f"message-{uuid.uuid4()}"
    project = make_project(server)

    async def write() -> None:
        now = server.clock.now()
        async with server.state.transaction() as conn:
            await conn.execute(
                insert(outbox).values(
                    message_id=message_id,
                    project_id=project.project_id,
                    to_address=email,
                    to_normalized=email,
                    from_address=server.settings.email_from,
                    subject="Your login link",
                    text="hello",
                    html="<p>hello</p>",
                    links=[],
                    status="sending",
                    attempts=1,
                    next_attempt_at=now - claimed_ago,
                    created_at=now - claimed_ago,
                    claimed_at=now - claimed_ago,
                    claimed_by="ghost:1:dead",
                )
            )

    server.run(write())
    return message_id


class TestClaims:
    def test_a_stale_claim_is_taken_over_and_sent_once(self, smtp_server, refusing_sink):
        email = f"stale-{uuid.uuid4().hex[:10]}@example.com"
        message_id = insert_claimed(smtp_server, email, timedelta(minutes=5))

        deliver_due(smtp_server)
        # The server's delivery loop may have claimed it first and still be sending it.
        refusing_sink.wait_for(email)

        assert [m.message_id for m in refusing_sink.received if email in m.to] == [f"<{message_id}@keystile>"]

    def test_a_fresh_claim_is_left_to_its_owner(self, smtp_server, refusing_sink):
        email = f"fresh-{uuid.uuid4().hex[:10]}@example.com"
        insert_claimed(smtp_server, email, timedelta(seconds=1))

        deliver_due(smtp_server)

        assert row_to(smtp_server, email).claimed_by == "ghost:1:dead"

    def test_a_delivered_message_carries_its_outbox_message_id(self, smtp_server, refusing_sink):
        email = f"mid-{uuid.uuid4().hex[:10]}@example.com"
        send(smtp_server, email)

        mail = refusing_sink.wait_for(email)

        assert mail.message_id == f"<{row_to(smtp_server, email).message_id}@keystile>"

    def test_a_delivered_message_records_who_sent_it(self, smtp_server, refusing_sink):
        email = f"who-{uuid.uuid4().hex[:10]}@example.com"
        send(smtp_server, email)

        row = wait_row(smtp_server, email, lambda r: r.status == "sent")

        assert row.claimed_by == smtp_server.app.state.deliverer.worker
