"""`keystile clock …`: move a test project's own clock, so its magic links, passcodes,
intermediate sessions, sessions and JWTs expire without waiting (clock/service.py).

A move is one transaction on the shared database; the command returns once every running
keystile process serving that database sees it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from keystile.cli.common import CommandFailed, Typer, out
from keystile.cli.common import run as _run

app = Typer(
    help="A test project's own clock: move it ahead, and tokens, sessions and JWTs expire as if the time had passed.",
    no_args_is_help=True,
)

ProjectOption = Annotated[str, typer.Option("--project", help="The project_id (a test project).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def _in_project(project_id: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `work(ctx)` with a request context for the project, in one transaction."""

    async def main(state: Any) -> Any:
        from keystile.core.context import Context, Project
        from keystile.errors import StytchError
        from keystile.projects import repository as projects_repo

        row = await projects_repo.find_project(state.conn, project_id)
        if row is None:
            raise CommandFailed(f"No project {project_id}.")
        ctx = Context(state=state, conn=state.conn, project=Project.from_row(row), request_id="cli")
        try:
            return await work(ctx)
        except StytchError as exc:
            raise CommandFailed(exc.message) from None

    return _run(main)


def _report(shown: Any, as_json: bool) -> None:
    from keystile.clock.service import describe
    from keystile.core.clock import rfc3339

    if as_json:
        value = {"project_id": shown.project_id, "offset_seconds": shown.offset_seconds, "now": rfc3339(shown.now)}
        sys.stdout.write(json.dumps(value) + "\n")
        return
    if shown.offset_seconds:
        ahead = f"{describe(shown.offset_seconds)} ahead of the server's"
    else:
        ahead = "on the server's time"
    out.print(f"{shown.project_id}: clock {ahead}; its time is {rfc3339(shown.now)}", soft_wrap=True)


def _settle() -> None:
    """Return once every running server has dropped what it cached before the move."""
    from keystile.clock.service import PROPAGATION_SECONDS

    time.sleep(PROPAGATION_SECONDS)


@app.command("advance")
def advance(
    duration: Annotated[str, typer.Argument(help="How far: 90s, 61m, 2h, 7d, 1w, or together (1h30m).")],
    project: ProjectOption,
    as_json: JsonOption = False,
) -> None:
    """Move a test project's clock ahead (refused for a live project and with KEYSTILE_ENV=production)."""
    from keystile.clock import service
    from keystile.errors import StytchError

    try:
        seconds = service.parse_duration(duration)
    except StytchError as exc:
        raise CommandFailed(exc.message) from None
    shown = _in_project(project, lambda ctx: service.advance(ctx, seconds))
    _settle()
    _report(shown, as_json)


@app.command("show")
def show(project: ProjectOption, as_json: JsonOption = False) -> None:
    """How far a project's clock is ahead of the server's, and its time now."""
    from keystile.clock import service

    _report(_in_project(project, service.show), as_json)


@app.command("reset")
def reset(project: ProjectOption, as_json: JsonOption = False) -> None:
    """Put a project's clock back on the server's time (what was stamped meanwhile keeps its stamp)."""
    from keystile.clock import service

    shown = _in_project(project, service.reset)
    _settle()
    _report(shown, as_json)
