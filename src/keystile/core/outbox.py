"""Email and text messages: rendered from Jinja2 templates, written to the outbox in the
caller's transaction, delivered by SMTP (email) and Twilio (SMS, WhatsApp) when configured,
always visible in the dev inbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import aiosmtplib
import httpx
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import emails, phones, ratelimit, twilio
from keystile.core.clock import Clock
from keystile.core.db import Connection, Database, Record
from keystile.models.outbox import outbox

if TYPE_CHECKING:
    from keystile.core.area import Message
    from keystile.core.context import Context

log = logging.getLogger("keystile.outbox")

_env = Environment(
    loader=PackageLoader("keystile", "templates/email"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# SMS and WhatsApp bodies are plain text: nothing is escaped.
_text_env = Environment(
    loader=PackageLoader("keystile", "templates/text"),
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)

TEXT_CHANNELS = ("sms", "whatsapp")

_LINK = re.compile(r"https?://[^\s<>\"']+")


async def enqueue(ctx: Context, message: Message, *, to: str, **values: Any) -> str:
    """Render one message and write it to the outbox in the request's transaction. The
    message is one an area declares (`Area.messages`); its subject and templates are its own,
    and its channel says whether `to` is an email address or a phone number."""
    if message.channel in TEXT_CHANNELS:
        return await _enqueue_text(ctx, message, to=to, **values)
    settings = ctx.state.settings
    # Every email passes here, so no flow can be used to flood one address.
    await ratelimit.hit_email(ctx, to)
    values.setdefault("project_name", ctx.project.name)
    subject = message.subject.format(**values)
    text = _env.get_template(f"{message.template}.txt").render(subject=subject, **values)
    html = _env.get_template(f"{message.template}.html").render(subject=subject, **values)
    message_id = f"message-{uuid.uuid4()}"
    await ctx.conn.execute(
        insert(outbox).values(
            message_id=message_id,
            project_id=ctx.project_id,
            to_address=to,
            to_normalized=emails.normalize(to),
            from_address=settings.email_from,
            subject=subject,
            text=text,
            html=html,
            links=_LINK.findall(text),
            status="pending" if settings.smtp_url else "inbox",
            attempts=0,
            # The server's time, not a test project's moved clock (clock/service.py): the
            # deliverer schedules by it and the dev inbox orders by it.
            next_attempt_at=ctx.state.clock.now() if settings.smtp_url else None,
            created_at=ctx.state.clock.now(),
        )
    )
    ctx.after_commit.extend(ctx.state.wake_deliverer)
    _inc(ctx.state.metrics, "emails_queued_total")
    return message_id


async def _enqueue_text(ctx: Context, message: Message, *, to: str, **values: Any) -> str:
    """An SMS or WhatsApp message (`templates/text/<template>.txt`) to an E.164 number.

    Refused before anything is written, so a refusal costs nothing: a number that is not
    one (`invalid_phone_number`), a country the project does not text (toll fraud:
    `invalid_phone_number_country_code`), or a number that already got its share of texts."""
    settings = ctx.state.settings
    number = phones.normalize(to)
    await phones.require_allowed_country(ctx, number)
    await ratelimit.hit_text(ctx, number)
    values.setdefault("project_name", ctx.project.name)
    text = _text_env.get_template(f"{message.template}.txt").render(**values).strip()
    sms_url = settings.sms_url.get_secret_value() if settings.sms_url else None
    sender = twilio.TwilioTarget.parse(sms_url).sender(message.channel) if sms_url else None
    message_id = f"message-{uuid.uuid4()}"
    await ctx.conn.execute(
        insert(outbox).values(
            message_id=message_id,
            project_id=ctx.project_id,
            channel=message.channel,
            to_address=number,
            to_normalized=number,
            from_address=sender or "",
            subject=message.subject.format(**values) if message.subject else "",
            text=text,
            html="",
            links=_LINK.findall(text),
            status="pending" if sms_url else "inbox",
            attempts=0,
            # The server's time, as for an email: a test project's moved clock would put the
            # text out of the deliverer's reach until real time caught up.
            next_attempt_at=ctx.state.clock.now() if sms_url else None,
            created_at=ctx.state.clock.now(),
        )
    )
    ctx.after_commit.extend(ctx.state.wake_deliverer)
    _inc(ctx.state.metrics, "texts_queued_total", channel=message.channel)
    return message_id


def _recipient_key(to: str) -> str:
    """How the dev inbox filter finds a recipient: a phone number as E.164 (however it was
    typed), an email address lower-cased."""
    if to.strip().startswith("+"):
        try:
            return phones.normalize(to)
        except errors.InvalidPhoneNumber:
            return to.strip()
    return emails.normalize(to)


async def latest(conn: Connection, *, to: str | None, limit: int) -> list[Row[Any]]:
    """The newest messages, to one address or number when `to` is given (the dev inbox)."""
    query = select(outbox).order_by(outbox.c.created_at.desc(), outbox.c.message_id.desc()).limit(limit)
    if to:
        query = query.where(outbox.c.to_normalized == _recipient_key(to))
    return list((await conn.execute(query)).all())


@dataclass(frozen=True)
class SMTPTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None

    @classmethod
    def parse(cls, url: str) -> SMTPTarget:
        """`smtp://[user:pass@]host:port`, `smtps://…` (implicit TLS), `smtp+starttls://…`."""
        parts = urlparse(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise ValueError(f"KEYSTILE_SMTP_URL must look like smtp://host:port, not {url!r}")
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=parts.scheme == "smtps",
            start_tls=parts.scheme == "smtp+starttls",
        )


def _inc(metrics: Any, name: str, **labels: str) -> None:
    """Count on the metrics registry when observability installed one."""
    inc = getattr(metrics, "inc", None)
    if callable(inc):
        inc(name, **labels)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 10 s, 20 s, 40 s … capped at 10 minutes."""
    return timedelta(seconds=min(10 * 2 ** (attempts - 1), 600))


def build_message(row: Record) -> EmailMessage:
    """The MIME message for one outbox row. Its Message-ID is the row's, so a message sent
    twice (see docs/decisions/0006) is recognisably the same message."""
    message = EmailMessage()
    message["From"] = row.from_address
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = f"<{row.message_id}@keystile>"
    message.set_content(row.text)
    message.add_alternative(row.html, subtype="html")
    return message


def worker_name() -> str:
    """Who holds a claim: host, process id and a random part (process ids get reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Deliverer:
    """Sends pending outbox messages, emails by SMTP and texts by Twilio; runs in every
    process (docs/decisions/0006).

    One message at a time goes through three steps, none holding a lock during network I/O:
    claim it (a short transaction: `FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on
    SQLite; status `sending`, `claimed_by` this process), send it, then mark it `sent`
    (another short transaction, only while the claim is still ours). A claim older than
    `claim_timeout` belongs to a process that died and is taken over. A failure puts the
    message back with a backoff, or marks it `failed` after `max_attempts`, or at once when
    the provider refused it for good (Twilio's 4xx other than 429). Only the channels with a
    provider configured are claimed: without KEYSTILE_SMS_URL, texts stay in the dev inbox.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        smtp_url: str | None,
        *,
        sms_url: str | None = None,
        claim_timeout: float = 60.0,
        max_attempts: int = 8,
        metrics: Any = None,
        poll_seconds: float = 1.0,
        smtp_timeout: float = 10.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.target = SMTPTarget.parse(smtp_url) if smtp_url else None
        self.texts = twilio.TwilioTarget.parse(sms_url) if sms_url else None
        self.channels = (("email",) if self.target else ()) + (TEXT_CHANNELS if self.texts else ())
        self.claim_timeout = timedelta(seconds=claim_timeout)
        self.max_attempts = max_attempts
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        # A claim must outlive one SMTP exchange or Twilio call, or a slow send could be taken over.
        self.smtp_timeout = min(smtp_timeout, max(claim_timeout / 2, 0.5))
        self.worker = worker_name()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="keystile-deliverer")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent_any = await self.deliver_batch()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("outbox delivery failed")
                sent_any = False
            if sent_any:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def deliver_batch(self, size: int = 50) -> bool:
        """Deliver up to `size` due messages over one SMTP connection and one HTTP client;
        True if any was due."""
        smtp: aiosmtplib.SMTP | None = None
        http: httpx.AsyncClient | None = None
        handled = 0
        try:
            while handled < size and not self._stopping:
                row = await self.claim()
                if row is None:
                    break
                handled += 1
                if row.channel in TEXT_CHANNELS:
                    if http is None:
                        http = httpx.AsyncClient(timeout=self.smtp_timeout, follow_redirects=False, trust_env=False)
                    await self._send_text(http, row)
                    continue
                try:
                    if smtp is None or not smtp.is_connected:
                        smtp = self._client()
                        await smtp.connect()
                    await smtp.send_message(
                        build_message(row), sender=parseaddr(row.from_address)[1], recipients=[row.to_address]
                    )
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    await self._failed(row, exc)
                    await _close(smtp)
                    smtp = None
                    continue
                # The SMTP server has the message: record that at once (the ADR's window).
                await self._sent(row)
        finally:
            await _close(smtp)
            if http is not None:
                await http.aclose()
        return handled > 0

    async def _send_text(self, http: httpx.AsyncClient, row: Row[Any]) -> None:
        assert self.texts is not None  # only claimed when configured
        try:
            sid = await twilio.send(http, self.texts, row.channel, row.to_address, row.text)
        except twilio.TextFailure as exc:
            await self._failed(row, exc, permanent=exc.permanent)
            return
        log.info("%s %s handed to Twilio as %s", row.channel, row.message_id, sid)
        await self._sent(row)

    def _client(self) -> aiosmtplib.SMTP:
        assert self.target is not None  # only emails are sent by SMTP, claimed when configured
        return aiosmtplib.SMTP(
            hostname=self.target.hostname,
            port=self.target.port,
            username=self.target.username,
            password=self.target.password,
            use_tls=self.target.use_tls,
            start_tls=self.target.start_tls,
            timeout=self.smtp_timeout,
        )

    async def claim(self) -> Row[Any] | None:
        """Take the next due message for this process, or None; commits before returning."""
        now = self.clock.now()
        due = and_(
            or_(
                and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
                and_(outbox.c.status == "sending", outbox.c.claimed_at < now - self.claim_timeout),
            ),
            outbox.c.channel.in_(self.channels),
        )
        async with self.db.transaction() as conn:
            query = select(outbox.c.message_id, outbox.c.status).where(due).order_by(outbox.c.next_attempt_at).limit(1)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            picked = (await conn.execute(query)).first()
            if picked is None:
                return None
            row = (
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.message_id == picked.message_id, due)
                    .values(status="sending", claimed_at=now, claimed_by=self.worker, attempts=outbox.c.attempts + 1)
                    .returning(outbox)
                )
            ).first()
        if row is not None and picked.status == "sending":
            log.warning("%s %s: took over the stale claim of a stopped process", row.channel, row.message_id)
        return row

    def _ours(self, row: Row[Any]) -> Any:
        return and_(
            outbox.c.message_id == row.message_id,
            outbox.c.status == "sending",
            outbox.c.claimed_by == self.worker,
        )

    async def _sent(self, row: Row[Any]) -> None:
        async with self.db.transaction() as conn:
            result = await conn.execute(
                update(outbox).where(self._ours(row)).values(status="sent", sent_at=self.clock.now(), last_error=None)
            )
        if result.rowcount == 0:
            log.warning("%s %s was sent after its claim went stale; it may arrive twice", row.channel, row.message_id)
        if row.channel == "email":
            _inc(self.metrics, "emails_sent_total")
        else:
            _inc(self.metrics, "texts_sent_total", channel=row.channel)

    async def _failed(self, row: Row[Any], exc: BaseException, *, permanent: bool = False) -> None:
        failed = permanent or row.attempts >= self.max_attempts
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.execute(
                update(outbox)
                .where(self._ours(row))
                .values(
                    status="failed" if failed else "pending",
                    next_attempt_at=None if failed else now + backoff(row.attempts),
                    claimed_at=None,
                    claimed_by=None,
                    last_error=f"{type(exc).__name__}: {exc}"[:1000],
                )
            )
        how = "SMTP" if row.channel == "email" else "Twilio"
        log.warning("%s %s: %s attempt %d failed: %s", row.channel, row.message_id, how, row.attempts, exc)
        if failed:
            if row.channel == "email":
                _inc(self.metrics, "emails_failed_total")
            else:
                _inc(self.metrics, "texts_failed_total", channel=row.channel)


async def _close(smtp: aiosmtplib.SMTP | None) -> None:
    if smtp is not None and smtp.is_connected:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()
    return


async def list_messages(
    conn: Any, *, status: str | None = None, channel: str | None = None, limit: int = 50
) -> list[Row[Any]]:
    """The newest outbox messages, optionally of one status and channel (the CLI's `outbox list`)."""
    query = select(outbox).order_by(outbox.c.created_at.desc()).limit(limit)
    if status:
        query = query.where(outbox.c.status == status)
    if channel:
        query = query.where(outbox.c.channel == channel)
    return list((await conn.execute(query)).all())


async def retry(conn: Any, now: datetime, message_ids: list[str] | None) -> int:
    """Queue failed messages again (all of them when `message_ids` is None)."""
    query = update(outbox).where(outbox.c.status == "failed")
    if message_ids is not None:
        query = query.where(outbox.c.message_id.in_(message_ids))
    result = await conn.execute(query.values(status="pending", attempts=0, next_attempt_at=now))
    return result.rowcount
