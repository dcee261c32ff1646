"""`keystile outbox …`: what keystile queued, sent and failed to send, and retrying failures."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keystile.cli.common import Typer, err, print_table
from keystile.cli.common import run as _run
from keystile.core.clock import rfc3339

if TYPE_CHECKING:
    from keystile.core.db import Record

app = Typer(help="The outbox of emails and text messages: list queued, sent and failed messages.", no_args_is_help=True)

STATUSES = ("pending", "sending", "sent", "failed", "inbox")
CHANNELS = ("email", "sms", "whatsapp")


def _message_json(row: Record) -> dict[str, Any]:
    return {
        "message_id": row.message_id,
        "project_id": row.project_id,
        "channel": row.channel,
        "to": row.to_address,
        "subject": row.subject,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": rfc3339(row.created_at),
        "next_attempt_at": rfc3339(row.next_attempt_at) if row.next_attempt_at else None,
        "sent_at": rfc3339(row.sent_at) if row.sent_at else None,
        "claimed_by": row.claimed_by,
    }


@app.command("list")
def list_messages(
    failed: Annotated[bool, typer.Option("--failed", help="Only messages that gave up after every retry.")] = False,
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    channel: Annotated[str | None, typer.Option(help=f"Only this channel: {', '.join(CHANNELS)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """List outbox messages, newest first (`--failed` for the ones that need attention)."""
    from keystile.core import outbox

    if failed:
        status = "failed"
    if status is not None and status not in STATUSES:
        err.print(f"[red]--status must be one of {', '.join(STATUSES)}[/red]")
        raise typer.Exit(2)
    if channel is not None and channel not in CHANNELS:
        err.print(f"[red]--channel must be one of {', '.join(CHANNELS)}[/red]")
        raise typer.Exit(2)
    rows = [
        _message_json(r)
        for r in _run(lambda state: outbox.list_messages(state.conn, status=status, channel=channel, limit=limit))
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    print_table(
        ["message_id", "channel", "to", "status", "attempts", "created_at", "subject", "last_error"],
        [
            [
                r["message_id"],
                r["channel"],
                r["to"],
                r["status"],
                str(r["attempts"]),
                r["created_at"],
                r["subject"],
                r["last_error"] or "",
            ]
            for r in rows
        ],
        whole=("message_id", "to"),
    )
    if not rows:
        err.print("no messages" + (f" with status {status}" if status else ""))


@app.command("retry")
def retry(
    message_ids: Annotated[list[str] | None, typer.Argument(help="Failed messages to queue again.")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Queue every failed message again.")] = False,
) -> None:
    """Queue failed messages for delivery again (a running server sends them within a second)."""
    from keystile.core import outbox

    if not message_ids and not all_failed:
        err.print("[red]Name message ids, or pass --all-failed[/red]")
        raise typer.Exit(2)
    chosen = None if all_failed else list(message_ids or [])
    count = _run(lambda state: outbox.retry(state.conn, state.clock.now(), chosen))
    err.print(f"queued {count} message{'' if count == 1 else 's'} again")
