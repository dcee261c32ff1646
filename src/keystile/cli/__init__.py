"""The `keystile` command: serve, migrate, and manage projects and redirect URLs.

Every command acts on the database named by KEYSTILE_DATABASE_URL (SQLite under
./.keystile by default), the same one a running server uses; the server sees changes
at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from keystile.cli import keys as keys_cli
from keystile.cli import outbox as outbox_cli
from keystile.cli import rbac as rbac_cli
from keystile.cli.common import err, out
from keystile.cli.common import run as _run
from keystile.core.redirect_urls import RedirectType

T = TypeVar("T")

app = typer.Typer(
    help="keystile: a self-hosted authentication server, wire-compatible with Stytch's v1 API.",
    no_args_is_help=True,
    add_completion=False,
)
projects_app = typer.Typer(help="Create and list projects (each has a project_id, a secret and a public token).")
redirects_app = typer.Typer(help="Manage the redirect URL allowlist of a project.")
app.add_typer(projects_app, name="projects")
app.add_typer(redirects_app, name="redirect-urls")

app.add_typer(keys_cli.app, name="keys")
app.add_typer(outbox_cli.app, name="outbox")
app.add_typer(rbac_cli.app, name="rbac")


@app.command()
def serve(
    config: Annotated[
        Path | None, typer.Option(help="keystile.toml declaring projects, secrets and redirect URLs.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1, KEYSTILE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 4010, KEYSTILE_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes serving the one port.")] = 1,
) -> None:
    """Run the API server (SQLite under ./.keystile and the dev inbox by default)."""
    import uvicorn

    from keystile.app import prepare
    from keystile.config import Settings
    from keystile.core import migrate as migrations
    from keystile.core import observability
    from keystile.core.keys import MasterKeyMismatch, MasterKeyMissing
    from keystile.core.state import make_state

    if config is not None:
        if not config.exists():
            err.print(f"[red]No such config file: {config}[/red]")
            raise typer.Exit(2)
        os.environ["KEYSTILE_CONFIG_FILE"] = str(config.resolve())
    if host:
        os.environ["KEYSTILE_HOST"] = host
    if port:
        os.environ["KEYSTILE_PORT"] = str(port)
    settings = Settings()

    async def prepare_once() -> None:
        state = make_state(settings)
        try:
            await prepare(state)
        finally:
            await state.engine.dispose()

    try:
        asyncio.run(prepare_once())
    except (migrations.SchemaBehind, MasterKeyMissing, MasterKeyMismatch) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(f"[red]Cannot reach the database ({type(exc).__name__}: {exc}).[/red]")
        raise typer.Exit(2) from None
    os.environ["KEYSTILE_PREPARED"] = "true"
    metrics_dir = _metrics_dir(workers)
    err.print(f"keystile listening on {settings.base_url} ({'SQLite' if settings.is_sqlite else 'PostgreSQL'})")
    if settings.inbox_enabled:
        err.print(f"dev inbox: {settings.base_url}dev/inbox")
    # uvicorn finishes in-flight requests on SIGTERM, then re-raises the signal; this
    # handler turns that into a clean exit (status 0) instead of death by signal.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(
            "keystile.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level=settings.log_level,
            log_config=observability.logging_config(settings.log_level),
            access_log=False,
            timeout_graceful_shutdown=settings.shutdown_timeout,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir(workers: int) -> str | None:
    """Several workers share their metrics through prometheus_client's multiprocess files.
    A directory given in PROMETHEUS_MULTIPROC_DIR is emptied (its files are per run);
    without one, a temporary one is made and removed at exit."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    if workers == 1:
        return None
    made = tempfile.mkdtemp(prefix="keystile-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


@app.command()
def migrate() -> None:
    """Bring the database to the current schema (Alembic upgrade head)."""
    from keystile.config import Settings
    from keystile.core import migrate as migrations

    settings = Settings()
    with err.status("migrating…"):
        migrations.upgrade(settings.db_url)
    err.print(f"schema at {migrations.head_revision()}")


@projects_app.command("create")
def projects_create(
    name: Annotated[str, typer.Option(help="A name for people to recognise the project by.")],
    live: Annotated[bool, typer.Option("--live", help="A live project (ids and secrets say `live`).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Create a project and print its id, secret and public token (the secret is shown only now)."""
    from keystile.projects import service

    async def work(state: Any) -> Any:
        return await service.create_project(state.conn, state.keyring, state.clock.now(), name=name, live=live)

    created = _run(work)
    body = {"project_id": created.project_id, "secret": created.secret, "public_token": created.public_token}
    if as_json:
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        for key, value in body.items():
            out.print(f"{key:13} {value}")
        err.print("Keep the secret: keystile stores only its hash.")


@projects_app.command("list")
def projects_list(as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False) -> None:
    """List projects (secrets are never shown again)."""
    from keystile.projects import service

    rows = _run(lambda state: service.list_projects(state.conn))
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table("project_id", "name", "live", "public_token")
    for r in rows:
        table.add_row(r["project_id"], r["name"], "yes" if r["live"] else "no", r["public_token"])
    out.print(table)


def _project_or_exit(work: Callable[[Any], Awaitable[T]]) -> T:
    from keystile.projects.service import ProjectNotFound

    try:
        return _run(work)
    except ProjectNotFound as exc:
        err.print(f"[red]No project {exc.args[0]}[/red]")
        raise typer.Exit(2) from None


@redirects_app.command("add")
def redirect_urls_add(
    url: Annotated[str, typer.Argument(help="The URL to allow, e.g. http://localhost:3000/authenticate")],
    project: Annotated[str, typer.Option(help="The project_id.")],
    types: Annotated[
        list[RedirectType] | None,
        typer.Option("--type", help="Allow it for this type; repeat for several (default: all five)."),
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default of every type given.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Allow a redirect URL for one or more types."""
    from keystile.projects import service

    if not url.startswith(("http://", "https://")) and "://" not in url:
        err.print("[red]A redirect URL needs a scheme, e.g. https://app.example.com/authenticate[/red]")
        raise typer.Exit(2)
    chosen = types or list(RedirectType)

    async def work(state: Any) -> list[dict]:
        await service.add_redirect_url(state.conn, state.clock.now(), project, url, chosen, default=default)
        return await service.list_redirect_urls(state.conn, project)

    rows = _project_or_exit(work)
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
    else:
        err.print(f"allowed {url} for {', '.join(t.value for t in chosen)}{' (default)' if default else ''}")


@redirects_app.command("list")
def redirect_urls_list(
    project: Annotated[str, typer.Option(help="The project_id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Show a project's redirect URLs, their types and where each is the default."""
    from keystile.projects import service

    rows = _project_or_exit(lambda state: service.list_redirect_urls(state.conn, project))
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table("url", "types", "default for")
    for r in rows:
        table.add_row(r["url"], ", ".join(r["types"]), ", ".join(r["default_for"]) or "—")
    out.print(table)


@redirects_app.command("remove")
def redirect_urls_remove(
    url: Annotated[str, typer.Argument(help="The URL to remove from the allowlist (all its types).")],
    project: Annotated[str, typer.Option(help="The project_id.")],
) -> None:
    """Remove a redirect URL from the allowlist."""
    from keystile.projects import service

    removed = _project_or_exit(lambda state: service.remove_redirect_url(state.conn, project, url))
    err.print(f"removed {removed} entr{'y' if removed == 1 else 'ies'}")
