"""The dev inbox: every email and text message (SMS, WhatsApp) keystile sent, newest
first, as a page and as JSON. A text has the same shape as an email: `to` is its E.164
number, `text` its body, `subject` and `html` empty; `channel` tells them apart.

No authentication: it is for development machines and CI, and is off in production
unless KEYSTILE_DEV_INBOX=true.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from keystile.core import outbox
from keystile.core.clock import rfc3339
from keystile.core.responses import JSON

router = APIRouter(include_in_schema=False)
CHANNEL_NAMES = {"email": "Email", "sms": "SMS", "whatsapp": "WhatsApp"}
_env = Environment(loader=PackageLoader("keystile", "templates/dev"), autoescape=select_autoescape(["html"]))


async def _messages(request: Request, to: str | None, limit: int) -> list[dict[str, Any]]:
    state = request.app.state.keystile
    async with state.transaction() as conn:
        rows = await outbox.latest(conn, to=to, limit=limit)
    return [
        {
            "id": r.message_id,
            "channel": r.channel,
            "to": r.to_address,
            "from": r.from_address,
            "subject": r.subject,
            "text": r.text,
            "html": r.html,
            "links": r.links,
            "created_at": rfc3339(r.created_at),
        }
        for r in rows
    ]


@router.get("/dev/inbox/messages")
async def inbox_messages(request: Request, to: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> JSON:
    return JSON({"messages": await _messages(request, to, limit)})


@router.get("/dev/inbox")
async def inbox_page(request: Request, to: str | None = None) -> HTMLResponse:
    messages = await _messages(request, to, 200)
    return HTMLResponse(_env.get_template("inbox.html").render(messages=messages, to=to, channel_names=CHANNEL_NAMES))
