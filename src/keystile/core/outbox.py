"""Email: rendered from Jinja2 templates, written to the outbox in the caller's
transaction, delivered by SMTP when configured, always visible in the dev inbox."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import aiosmtplib
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import insert, select, update

from keystile.core import emails
from keystile.core.clock import Clock
from keystile.core.db import Database
from keystile.models.outbox import outbox

if TYPE_CHECKING:
    from keystile.core.context import Context

log = logging.getLogger("keystile.outbox")

_env = Environment(
    loader=PackageLoader("keystile", "templates/email"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

SUBJECTS = {
    "discovery_magic_link": "Your login link",
    "login_magic_link": "Your login link for {organization_name}",
    "signup_magic_link": "Finish signing up for {organization_name}",
    "invite_magic_link": "You have been invited to join {organization_name}",
    "consumer_login_magic_link": "Your login link",
    "consumer_signup_magic_link": "Finish creating your account",
    "consumer_invite_magic_link": "You have been invited",
}

_LINK = re.compile(r"https?://[^\s<>\"']+")


async def enqueue(ctx: Context, template: str, *, to: str, **values: Any) -> str:
    """Render one email and write it to the outbox in the request's transaction."""
    settings = ctx.state.settings
    values.setdefault("project_name", ctx.project.name)
    subject = SUBJECTS[template].format(**values)
    text = _env.get_template(f"{template}.txt").render(subject=subject, **values)
    html = _env.get_template(f"{template}.html").render(subject=subject, **values)
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
            next_attempt_at=ctx.clock.now() if settings.smtp_url else None,
            created_at=ctx.clock.now(),
        )
    )
    ctx.after_commit.extend(ctx.state.wake_deliverer)
    return message_id


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
            start_tls=True if parts.scheme == "smtp+starttls" else False,
        )


MAX_ATTEMPTS = 8


class Deliverer:
    """Sends pending outbox messages by SMTP, retrying with backoff; runs in every process.

    On PostgreSQL a message is claimed with FOR UPDATE SKIP LOCKED, so processes never
    send the same message twice; on SQLite the write lock serializes claims.
    """

    def __init__(self, db: Database, clock: Clock, smtp_url: str, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.clock = clock
        self.target = SMTPTarget.parse(smtp_url)
        self.poll_seconds = poll_seconds
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
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def deliver_batch(self, size: int = 20) -> bool:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            query = (
                select(outbox)
                .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
                .order_by(outbox.c.created_at)
                .limit(size)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            for row in rows:
                await self._deliver(conn, row)
        return bool(rows)

    async def _deliver(self, conn: Any, row: Any) -> None:
        message = EmailMessage()
        message["From"] = row.from_address
        message["To"] = row.to_address
        message["Subject"] = row.subject
        message["Message-ID"] = f"<{row.message_id}@keystile>"
        message.set_content(row.text)
        message.add_alternative(row.html, subtype="html")
        now = self.clock.now()
        try:
            await aiosmtplib.send(
                message,
                sender=parseaddr(row.from_address)[1],
                recipients=[row.to_address],
                hostname=self.target.hostname,
                port=self.target.port,
                username=self.target.username,
                password=self.target.password,
                use_tls=self.target.use_tls,
                start_tls=self.target.start_tls,
                timeout=10,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            attempts = row.attempts + 1
            failed = attempts >= MAX_ATTEMPTS
            await conn.execute(
                update(outbox)
                .where(outbox.c.message_id == row.message_id)
                .values(
                    attempts=attempts,
                    status="failed" if failed else "pending",
                    next_attempt_at=None if failed else now + timedelta(seconds=min(2**attempts, 300)),
                    last_error=f"{type(exc).__name__}: {exc}"[:1000],
                )
            )
            log.warning("email %s to SMTP failed (attempt %d): %s", row.message_id, attempts, exc)
            return
        await conn.execute(
            update(outbox)
            .where(outbox.c.message_id == row.message_id)
            .values(status="sent", sent_at=now, attempts=row.attempts + 1, last_error=None)
        )
