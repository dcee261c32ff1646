"""Email delivery by SMTP: a keystile started with `smtp_url` hands each outbox message to
a real SMTP server (aiosmtpd on loopback), and the dev inbox still shows the same email.

Runs on SQLite only, against its own keystile (the shared test servers have no SMTP).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import stytch
from aiosmtpd.controller import Controller

from keystile.magic_links import messages
from tests.support import Inbox, Server, free_port, make_project, start_server

DELIVERY_TIMEOUT_SECONDS = 10


def hrefs(html: str) -> list[str]:
    """Every `<a href>` in `html`, entities decoded."""
    found: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                found.extend(value for name, value in attrs if name == "href" and value)

    Links().feed(html)
    return found


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class CollectingHandler:
    """An aiosmtpd handler that keeps every message it is given, in order."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self._arrived:
            return [r for r in self.received if address in r.rcpt_tos]

    def wait_for(self, address: str, timeout: float = DELIVERY_TIMEOUT_SECONDS) -> list[Received]:
        """Block until at least one message to `address` arrived (bounded by `timeout`)."""
        with self._arrived:
            self._arrived.wait_for(lambda: any(address in r.rcpt_tos for r in self.received), timeout)
        return self.to(address)


@pytest.fixture(scope="module")
def smtp_sink() -> Iterator[tuple[CollectingHandler, int]]:
    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture(scope="module")
def smtp_keystile(
    smtp_sink: tuple[CollectingHandler, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A second keystile, on a fresh SQLite file, delivering email to the SMTP sink."""
    _, port = smtp_sink
    data_dir: Path = tmp_path_factory.mktemp("keystile-smtp")
    server = start_server(
        "sqlite", data_dir, f"sqlite:///{data_dir / 'keystile.db'}", smtp_url=f"smtp://127.0.0.1:{port}"
    )
    yield server
    server.stop()


@dataclass
class Delivery:
    email: str
    received: list[Received]
    inbox_link: str
    from_setting: str


@pytest.fixture
def discovery_delivery(smtp_keystile: Server, smtp_sink: tuple[CollectingHandler, int]) -> Delivery:
    """Send one discovery magic link through the SDK and wait for it at the SMTP server."""
    handler, _ = smtp_sink
    project = make_project(smtp_keystile)
    client = stytch.B2BClient(project.project_id, project.secret, environment=smtp_keystile.base_url)
    email = f"smtp-{uuid.uuid4().hex[:12]}@example.com"

    client.magic_links.email.discovery.send(email_address=email)

    received = handler.wait_for(email)
    assert received, f"no email to {email} reached the SMTP server within {DELIVERY_TIMEOUT_SECONDS} s"
    inbox_link = Inbox(smtp_keystile.base_url).latest_emailed_link(email)
    return Delivery(email, received, inbox_link, smtp_keystile.settings.email_from)


class TestSMTPDelivery:
    def test_exactly_one_message_arrives_per_send(self, discovery_delivery):
        assert len(discovery_delivery.received) == 1

    def test_message_goes_to_the_recipient(self, discovery_delivery):
        got = discovery_delivery.received[0]

        assert got.rcpt_tos == [discovery_delivery.email]
        assert got.message["To"] == discovery_delivery.email

    def test_message_comes_from_the_configured_sender(self, discovery_delivery):
        got = discovery_delivery.received[0]

        assert got.message["From"] == discovery_delivery.from_setting
        assert got.mail_from == parseaddr(discovery_delivery.from_setting)[1]

    def test_subject_is_the_discovery_subject(self, discovery_delivery):
        assert discovery_delivery.received[0].message["Subject"] == messages.DISCOVERY.subject

    def test_text_carries_the_same_link_as_the_dev_inbox(self, discovery_delivery):
        text = discovery_delivery.received[0].message.get_body(preferencelist=("plain",)).get_content()

        assert discovery_delivery.inbox_link in text
        assert "token=" in discovery_delivery.inbox_link

    def test_html_links_to_the_same_link_as_the_dev_inbox(self, discovery_delivery):
        html = discovery_delivery.received[0].message.get_body(preferencelist=("html",)).get_content()

        assert discovery_delivery.inbox_link in hrefs(html)
