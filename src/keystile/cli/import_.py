"""`keystile import`: load Users, or Organizations and their Members, from a JSON Lines file.

The format is in docs/migrating.md; cli/import_records.py reads and applies each line.
Lines are committed in batches (one transaction each, a savepoint per line, so a refused
line costs only itself). Resuming is natural: what is already there is skipped, a batch
at a time (two lookups per batch for Users), so an interrupted import is run again as it
was; `--start-line` skips the lines before it without reading them into the database.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.markup import escape

from keystile.cli.common import err, fail

HELP = (
    "Import consumer Users, or B2B Organizations and their Members, with their password hashes, "
    "from a JSON Lines file (one object per line; format in docs/migrating.md).\n\n"
    "Each line goes through the checks of the API's create calls. A line whose User, Organization or "
    "Member is already there (by external id, else email address, or slug) is skipped: running the same "
    "import again changes nothing, and resumes an interrupted one. A refused line is printed with its "
    "number and reason, and the others go on.\n\n"
    "Exit code 0 when no line was refused, 1 when some were, 2 when the import could not run."
)
EPILOG = (
    "Lines, e.g.:\n\n"
    '{"email": "ada@example.com", "email_verified": true, "external_id": "u-1", '
    '"password": {"hash_type": "bcrypt", "hash": "$2b$12$..."}}\n\n'
    '{"type": "organization", "organization_name": "Acme", "organization_slug": "acme"}\n\n'
    '{"type": "member", "organization_id": "acme", "email_address": "carol@acme.com", "roles": ["stytch_admin"]}'
)


class _DryRun(Exception):
    """Rolls a batch back in a dry run."""


@dataclass
class Tally:
    created: dict[str, int] = field(default_factory=lambda: {"user": 0, "organization": 0, "member": 0})
    skipped: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    refused_count: int = 0
    committed_through: int = 0  # the last line of the last committed batch
    lines: int = 0

    def summary(self) -> str:
        made = ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in self.created.items() if n) or "nothing"
        return f"created {made}; {self.skipped} already there (skipped); {self.refused_count} refused"


def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="A JSON Lines file: one User, Organization or Member per line (format: docs/migrating.md).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    project: Annotated[str, typer.Option("--project", help="The project_id to import into.")],
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=5000, help="Lines per transaction (each batch commits or not).")
    ] = 500,
    start_line: Annotated[
        int,
        typer.Option(
            "--start-line",
            min=1,
            help="Begin at this line (the lines before it are not read into the database). Not needed to "
            "resume: a second run skips what is already there.",
        ),
    ] = 1,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every line against the database, then roll everything back.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="Write each refused line to this file (JSON Lines: line, reason, the line as read), "
            "to fix and import again.",
            dir_okay=False,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar and no line per refused line.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON object on stdout.")] = False,
) -> None:
    """Import Users, or Organizations and Members, from a JSON Lines file (HELP below)."""
    tally = Tally()
    started = time.monotonic()
    out_rejects = rejects.open("w", encoding="utf-8") if rejects is not None else None
    try:
        asyncio.run(
            _import(file, file.stat().st_size, project, batch_size, start_line, dry_run, quiet, tally, out_rejects)
        )
    except KeyboardInterrupt:
        err.print(
            f"Stopped. Lines through {tally.committed_through} are committed; run the same command again "
            "(what is there is skipped)."
        )
        raise typer.Exit(130) from None
    except Exception:
        if tally.committed_through:
            err.print(f"Lines through {tally.committed_through} are committed; the same command resumes after them.")
        raise
    finally:
        if out_rejects is not None:
            out_rejects.close()
    seconds = time.monotonic() - started
    if as_json:
        body = {
            "project_id": project,
            "dry_run": dry_run,
            "lines": tally.lines,
            "created": tally.created,
            "skipped": tally.skipped,
            "refused": tally.refused_count,
            "refused_lines": tally.refused,
            "committed_through_line": tally.committed_through,
            "seconds": round(seconds, 3),
        }
        sys.stdout.write(json.dumps(body) + "\n")
    prefix = "Dry run (nothing kept): would have " if dry_run else ""
    err.print(f"{prefix}{tally.summary()}, {tally.lines} lines in {seconds:.1f} s.", highlight=False)
    if tally.refused_count:
        raise typer.Exit(1)


async def _import(
    file: Path,
    size: int,
    project_id: str,
    batch_size: int,
    start_line: int,
    dry_run: bool,
    quiet: bool,
    tally: Tally,
    rejects: IO[str] | None,
) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from sqlalchemy.exc import IntegrityError

    from keystile.cli import import_records as records
    from keystile.config import Settings
    from keystile.core import migrate as migrations
    from keystile.core.context import Context, LazyConnection, Project
    from keystile.core.state import make_state
    from keystile.errors import StytchError
    from keystile.projects import repository as projects_repo

    settings = Settings()
    state = make_state(settings)
    seen = records.Seen()

    def refuse(number: int, reason: str, raw: bytes, progress: Progress) -> None:
        tally.refused_count += 1
        if len(tally.refused) < 1000:
            tally.refused.append({"line": number, "reason": reason})
        if not quiet:
            progress.console.print(f"[yellow]line {number}:[/yellow] {escape(reason)}", soft_wrap=True)
        if rejects is not None:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            rejects.write(json.dumps({"line": number, "reason": reason, "text": text}) + "\n")

    async def one_by_one(ctx: Context, number: int, record: Any, known: Any) -> str:
        """A line through the services, in a savepoint: its outcome, "!reason" when refused."""
        try:
            async with ctx.conn.begin_nested():
                return await records.apply(ctx, number, record, seen, known)
        except records.Refused as exc:
            return f"!{exc}"
        except StytchError as exc:
            return f"!{exc.error_type}: {exc.message}"

    analyzed_at = [0]  # rows created when the statistics were last refreshed

    async def run_batch(project: Project, batch: list[tuple[int, bytes, Any]], progress: Progress) -> None:
        """One transaction: User lines checked, then inserted together; Organization and
        Member lines one by one, in file order."""
        conn = LazyConnection(state.db)
        ctx = Context(state=state, conn=conn, project=project, request_id="import")
        outcomes: dict[int, str] = {}
        created = sum(tally.created.values())
        try:
            if created >= max(2 * analyzed_at[0], 1000):  # at 1,000, 2,000, 4,000… rows: a few in all
                await records.refresh_statistics(ctx)
                analyzed_at[0] = created
            known = await records.known_users(ctx, [r for _, _, r in batch if not isinstance(r, Exception)])
            planned: list[records.PlannedUser] = []
            for number, _, record in batch:
                if isinstance(record, records.Refused):
                    outcomes[number] = f"!{record}"
                elif isinstance(record, records.UserLine):
                    try:
                        plan = records.plan_user(ctx, number, record, seen, known)
                    except records.Refused as exc:
                        outcomes[number] = f"!{exc}"
                    except StytchError as exc:
                        outcomes[number] = f"!{exc.error_type}: {exc.message}"
                    else:
                        if isinstance(plan, str):
                            outcomes[number] = plan
                        else:
                            planned.append(plan)
                else:
                    outcomes[number] = await one_by_one(ctx, number, record, known)
            if planned:
                try:
                    async with conn.begin_nested():
                        await records.insert_users(ctx, planned)
                    outcomes.update((p.number, "created") for p in planned)
                except IntegrityError:  # a writer took an address or id since: one by one
                    again = await records.known_users(ctx, [p.line for p in planned])
                    for p in planned:
                        outcomes[p.number] = await one_by_one(ctx, p.number, p.line, again)
            await conn.end(_DryRun() if dry_run else None)
        except BaseException as exc:
            await conn.end(exc)
            raise
        for number, raw, record in batch:  # counted once the batch is committed
            outcome = outcomes[number]
            if outcome.startswith("!"):
                refuse(number, outcome[1:], raw, progress)
            elif outcome == "skipped":
                tally.skipped += 1
            else:
                tally.created[record.type] += 1
        tally.committed_through = batch[-1][0]

    try:
        if settings.migrate_on_start:
            await asyncio.to_thread(migrations.upgrade, settings.db_url)
        await migrations.require_current(state.db.engine)
        async with state.db.transaction() as conn:
            row = await projects_repo.find_project(conn, project_id)
        if row is None:
            raise fail(f"No project {project_id}")
        project = Project.from_row(row)
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, disable=quiet, transient=False) as progress:
            task = progress.add_task("importing", total=size, counts="")
            batch: list[tuple[int, bytes, Any]] = []
            with file.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    progress.advance(task, len(raw))
                    if number < start_line or not raw.strip():
                        continue
                    tally.lines += 1
                    try:
                        batch.append((number, raw, records.parse(raw)))
                    except records.Refused as exc:  # reported in order, with its batch
                        batch.append((number, raw, exc))
                    if len(batch) >= batch_size:
                        await run_batch(project, batch, progress)
                        batch = []
                        progress.update(task, counts=_counts(tally))
                if batch:
                    await run_batch(project, batch, progress)
            progress.update(task, counts=_counts(tally))
    finally:
        await state.db.engine.dispose()


def _counts(tally: Tally) -> str:
    return f"{sum(tally.created.values())} created, {tally.skipped} skipped, {tally.refused_count} refused"
