"""`keystile keys …`: rotate and list a project's JWT signing keys; make a master key.

A rotation is one transaction on the shared database: every running keystile process
signs with the new key from its next JWT on, and keeps publishing the old one until the
JWTs it signed have expired.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from keystile.cli.common import Typer, err, out, print_table
from keystile.cli.common import run as _run
from keystile.core.clock import rfc3339
from keystile.core.keys import (
    ACTIVATION_DELAY,
    RETIRED_KEY_WINDOW,
    MasterKeyMismatch,
    MasterKeyMissing,
    new_master_key,
)

app = Typer(help="Signing keys: rotate and list a project's JWT signing keys.", no_args_is_help=True)


class _NoProject(LookupError):
    pass


async def _live(state: Any, project_id: str) -> bool:
    from keystile.projects import repository

    live = await repository.live_of(state.conn, project_id)
    if live is None:
        raise _NoProject(project_id)
    return live


def _run_for_project(work: Any) -> Any:
    try:
        return _run(work)
    except _NoProject as exc:
        err.print(f"[red]No project {exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    except (MasterKeyMissing, MasterKeyMismatch) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: rfc3339(v) if isinstance(v, datetime) else v for k, v in row.items()}


@app.command("rotate")
def rotate(
    project: Annotated[str, typer.Option(help="The project_id.")],
    activate_in: Annotated[
        int,
        typer.Option(
            min=0,
            help="Seconds between publishing the new key and signing with it; the default "
            "outlasts every JWKS cache (0 signs at once: apps that fetched the JWKS in the "
            "last 30 seconds then fail to verify new JWTs locally until they may refetch).",
        ),
    ] = int(ACTIVATION_DELAY.total_seconds()),
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="The old key leaked: stop trusting it at once (JWTs it signed stop verifying).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Publish a new signing key, sign with it after --activate-in seconds; the old key stays
    in the JWKS until the last JWT it signed has expired."""

    async def work(state: Any) -> tuple[str, Any, list[str]]:
        live = await _live(state, project)
        return await state.keyring.rotate(
            state.conn, project, live, state.clock.now(), delay=timedelta(seconds=activate_in), immediately=now
        )

    kid, signs_from, retired = _run_for_project(work)
    until = None if now else signs_from + RETIRED_KEY_WINDOW
    if as_json:
        body = {
            "kid": kid,
            "signs_from": rfc3339(signs_from),
            "retired": retired,
            "retired_keys_published_until": rfc3339(until),
        }
        sys.stdout.write(json.dumps(body) + "\n")
        return
    out.print(f"{kid} is published now and signs from {rfc3339(signs_from)}")
    for old in retired:
        if now:
            out.print(f"{old} retired and unpublished now")
        else:
            out.print(f"{old} signs until {rfc3339(signs_from)} and stays in the JWKS until {rfc3339(until)}")


@app.command("list")
def list_keys(
    project: Annotated[str, typer.Option(help="The project_id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """A project's signing keys: `next` (published, not signing yet), `signing`,
    `published` (retired, still in the JWKS for its last JWTs) or `retired`."""

    async def work(state: Any) -> list[dict[str, Any]]:
        await _live(state, project)
        return await state.keyring.list_keys(state.conn, project, state.clock.now())

    rows = [_row_json(r) for r in _run_for_project(work)]
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    print_table(
        ["kid", "state", "signs from", "signs until", "leaves JWKS at"],
        [[r["kid"], r["state"], r["signs_from"], r["retired_at"] or "—", r["unpublished_at"] or "—"] for r in rows],
        whole=("kid",),
    )


@app.command("generate-master-key")
def generate_master_key() -> None:
    """Print a new random value for KEYSTILE_MASTER_KEY (keep it in your secret store)."""
    sys.stdout.write(new_master_key() + "\n")
