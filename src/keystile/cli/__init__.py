"""The `keystile` command: serve, migrate, and manage projects and redirect URLs.

Every command acts on the database named by KEYSTILE_DATABASE_URL (SQLite under
./.keystile by default), the same one a running server uses; the server sees changes
at once.
"""

from __future__ import annotations

import asyncio
import json
import logging.config
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from keystile.cli import clock as clock_cli
from keystile.cli import common
from keystile.cli import impersonate as impersonate_cli
from keystile.cli import import_ as import_cli
from keystile.cli import keys as keys_cli
from keystile.cli import oauth as oauth_cli
from keystile.cli import outbox as outbox_cli
from keystile.cli import rbac as rbac_cli
from keystile.cli.common import CommandFailed, Typer, err, out, print_table
from keystile.cli.common import run as _run
from keystile.core.redirect_urls import RedirectType

T = TypeVar("T")

app = Typer(help="keystile: a self-hosted authentication server, wire-compatible with Stytch's v1 API.")
projects_app = Typer(help="Create, list and re-key projects (each has a project_id, a secret and a public token).")
redirects_app = Typer(help="Manage the redirect URL allowlist of a project.")
app.add_typer(projects_app, name="projects")
app.add_typer(redirects_app, name="redirect-urls")

app.add_typer(keys_cli.app, name="keys")
app.add_typer(outbox_cli.app, name="outbox")
app.add_typer(rbac_cli.app, name="rbac")
app.add_typer(clock_cli.app, name="clock")
app.add_typer(oauth_cli.app, name="oauth")
app.command("impersonate")(impersonate_cli.impersonate)
app.command("import", help=import_cli.HELP, epilog=import_cli.EPILOG)(import_cli.import_)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("keystile")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from keystile import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        out.print(f"keystile {_version()}", highlight=False)
        raise typer.Exit()


def run_cli() -> None:
    """The `keystile` executable: `app`, with `--debug` accepted after the command too
    (`keystile migrate --debug`), where people type it, not only before it."""
    args = sys.argv[1:]
    end = args.index("--") if "--" in args else len(args)
    if "--debug" in args[:end]:
        args = ["--debug", *(a for i, a in enumerate(args) if a != "--debug" or i >= end)]
    app(args=args, prog_name="keystile")


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="On failure, print the whole traceback (also KEYSTILE_LOG_LEVEL=debug).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print keystile's version and exit."),
    ] = False,
) -> None:
    """keystile: a self-hosted authentication server, wire-compatible with Stytch's v1 API."""
    common.DEBUG = debug


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
    from keystile.core import observability
    from keystile.core.state import make_state

    if config is not None:
        from keystile.config import load_file_config

        load_file_config(config)  # refused here, before anything starts, with the file's line and key
        os.environ["KEYSTILE_CONFIG_FILE"] = str(config.resolve())
    if host:
        os.environ["KEYSTILE_HOST"] = host
    if port:
        os.environ["KEYSTILE_PORT"] = str(port)
    settings = Settings()
    _require_free_port(settings.host, settings.port, from_option=port is not None)
    logging.config.dictConfig(observability.logging_config(settings.log_level))

    async def prepare_once() -> None:
        state = make_state(settings)
        try:
            await prepare(state)
        finally:
            await state.engine.dispose()

    asyncio.run(prepare_once())
    os.environ["KEYSTILE_PREPARED"] = "true"
    metrics_dir = _metrics_dir(workers)
    err.print(f"keystile listening on {settings.base_url} ({'SQLite' if settings.is_sqlite else 'PostgreSQL'})")
    if settings.inbox_enabled:
        err.print(f"dev inbox: {settings.base_url}dev/inbox")
    if settings.dev:
        err.print(f"API docs:  {settings.base_url}docs")
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
            # uvicorn annotates an int but waits with asyncio.wait_for, which takes fractions.
            timeout_graceful_shutdown=settings.shutdown_timeout,  # type: ignore[arg-type]
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _require_free_port(host: str, port: int, *, from_option: bool) -> None:
    """Refuse to start on a port something else holds, before printing that keystile listens
    there (uvicorn would print its own error only after start-up, as a log line)."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: SO_REUSEADDR, so a port in TIME_WAIT after a restart counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                how = "pass another --port" if from_option else "pass --port or set KEYSTILE_PORT"
                raise CommandFailed(f"port {port} is in use; {how}") from None
            if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
                raise CommandFailed(f"cannot listen on {host}: not an address of this machine; pass --host") from None
            if exc.errno == errno.EACCES:
                raise CommandFailed(
                    f"port {port} needs privileges on this machine; pass a port above 1023 with --port"
                ) from None
            raise


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
    print_table(
        ["project_id", "name", "live", "public_token", "link redirect"],
        [
            [r["project_id"], r["name"], "yes" if r["live"] else "no", r["public_token"], _on(r["email_link_redirect"])]
            for r in rows
        ],
        whole=("project_id", "public_token"),
    )


@projects_app.command("rotate-secret")
def projects_rotate_secret(
    project: Annotated[str, typer.Option(help="The project_id.")],
    revoke_others: Annotated[
        bool,
        typer.Option(
            "--revoke-others",
            help="Also remove every other secret of the project at once (a leaked secret). Without it "
            "the old secrets keep working until `keystile projects revoke-old-secrets`.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Give a project a new secret (shown only now): the way out of a lost or leaked secret."""
    from keystile.projects import service

    secret, removed = _project_or_exit(
        lambda state: service.rotate_secret(state.conn, project, state.clock.now(), revoke_others=revoke_others)
    )
    if as_json:
        sys.stdout.write(json.dumps({"project_id": project, "secret": secret, "revoked": removed}) + "\n")
        return
    out.print(f"{'project_id':13} {project}", highlight=False)
    out.print(f"{'secret':13} {secret}", highlight=False)
    if revoke_others:
        err.print(f"Keep the secret: keystile stores only its hash. Removed {removed} other secret(s).")
    else:
        err.print(
            "Keep the secret: keystile stores only its hash. The old secrets still work; once every app "
            f"uses the new one, run `keystile projects revoke-old-secrets --project {project}`."
        )


@projects_app.command("revoke-old-secrets")
def projects_revoke_old_secrets(project: Annotated[str, typer.Option(help="The project_id.")]) -> None:
    """Remove every secret of a project but the newest (the last step of a rotation)."""
    from keystile.projects import service

    removed = _project_or_exit(lambda state: service.revoke_old_secrets(state.conn, project))
    err.print(f"removed {removed} older secret(s) of {project}; only the newest works now")


@projects_app.command("session-migration")
def projects_session_migration(
    project: Annotated[str, typer.Option(help="The project_id.")],
    userinfo_url: Annotated[
        str | None,
        typer.Option(
            help="The OIDC userinfo endpoint of the provider you are leaving, e.g. https://auth.example.com/userinfo."
        ),
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="Turn sessions.migrate off for this project.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Show or set the userinfo endpoint that sessions.migrate asks about another provider's
    session token (docs/configuration.md, "Session migration")."""
    from keystile.config import check_userinfo_url
    from keystile.projects import service

    if userinfo_url is not None and off:
        err.print("[red]Give --userinfo-url or --off, not both[/red]")
        raise typer.Exit(2)
    if userinfo_url is not None:
        try:
            check_userinfo_url(userinfo_url)
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None

    async def work(state: Any) -> str | None:
        if userinfo_url is not None or off:
            return await service.set_session_migration_url(state.conn, project, None if off else userinfo_url)
        return await service.session_migration_url(state.conn, project)

    url = _project_or_exit(work)
    if as_json:
        sys.stdout.write(json.dumps({"project_id": project, "session_migration_url": url}) + "\n")
        return
    out.print(url or "(off: sessions.migrate answers session_migration_not_configured)", highlight=False)


@projects_app.command("sms-countries")
def projects_sms_countries(
    project: Annotated[str, typer.Option(help="The project_id.")],
    countries: Annotated[
        list[str] | None,
        typer.Argument(help="ISO country codes to allow, e.g. US CA GB; they replace the current list."),
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Back to keystile's default list (US, CA).")] = False,
    none: Annotated[bool, typer.Option("--none", help="Send no SMS or WhatsApp message at all.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Show or set the countries a project sends SMS and WhatsApp messages to (the guard
    against SMS toll fraud); a text to any other country is refused before it costs anything."""
    from keystile.projects import service

    if sum([bool(countries), default, none]) > 1:
        err.print("[red]Give country codes, --default or --none, not several[/red]")
        raise typer.Exit(2)
    if countries:
        from keystile.core.phones import clean_country_codes

        try:
            clean_country_codes(countries)
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    changing = bool(countries) or default or none
    chosen: list[str] | None = [] if none else (None if default else list(countries or []))

    async def work(state: Any) -> list[str]:
        if changing:
            return await service.set_sms_country_codes(state.conn, project, chosen)
        return await service.sms_country_codes(state.conn, project)

    codes = _project_or_exit(work)
    if as_json:
        sys.stdout.write(json.dumps({"project_id": project, "sms_country_codes": codes}) + "\n")
        return
    out.print(" ".join(codes) if codes else "(none: no SMS or WhatsApp messages are sent)", highlight=False)


@projects_app.command("email-link-redirect")
def projects_email_link_redirect(
    project: Annotated[str, typer.Option(help="The project_id.")],
    on: Annotated[
        bool,
        typer.Option(
            "--on/--off",
            help="--on (the default for every project): emailed links go through keystile's redirect page, "
            "which email scanners cannot spend. --off: they go straight to the app (universal links on mobile).",
        ),
    ],
) -> None:
    """Turn the redirect page of a project's emailed links on or off (ADR 0015)."""
    from keystile.projects import service

    _project_or_exit(lambda state: service.set_email_link_redirect(state.conn, project, on))
    if on:
        err.print(f"{project}: emailed links go through keystile's redirect page", soft_wrap=True)
    else:
        err.print(
            f"{project}: emailed links go straight to the app; email scanners that open links can spend them",
            soft_wrap=True,
        )


@app.command("endpoints")
def endpoints(
    missing: Annotated[
        bool, typer.Option("--missing", help="List only the endpoints keystile does not serve yet.")
    ] = False,
    area: Annotated[
        str | None, typer.Option(help="Only this area, e.g. 'B2B Sessions' (case does not matter).")
    ] = None,
    summary: Annotated[bool, typer.Option("--summary", help="One line per area: served of all.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Stytch's API endpoint by endpoint, and whether this keystile serves each (read from its routes)."""
    from keystile.areas import registry
    from keystile.core import stytch_api

    found = registry()
    routes = [*found.hot_routes, *(route for router in found.routers for route in router.routes)]
    rows = stytch_api.status(routes)
    if area:
        rows = [(e, ok) for e, ok in rows if e.area.lower() == area.lower()]
        if not rows:
            areas = sorted({e.area for e in stytch_api.endpoints()})
            raise CommandFailed(f"No area {area!r}; the areas are: {', '.join(areas)}")
    if summary:
        by_area: dict[str, list[bool]] = {}
        for e, ok in rows:
            by_area.setdefault(e.area, []).append(ok)
        if as_json:
            body = [{"area": a, "served": sum(oks), "endpoints": len(oks)} for a, oks in by_area.items()]
            sys.stdout.write(json.dumps(body) + "\n")
            return
        print_table(
            ["area", "served", "of"],
            [[a, str(sum(oks)), str(len(oks))] for a, oks in by_area.items()],
            whole=("area",),
        )
        return
    if missing:
        rows = [(e, ok) for e, ok in rows if not ok]
    if as_json:
        body = [
            {"area": e.area, "sdk_method": e.sdk_method, "method": e.method, "path": e.path, "served": ok}
            for e, ok in rows
        ]
        sys.stdout.write(json.dumps(body) + "\n")
        return
    # Plain lines, grouped by area: a path is never cut, whatever the terminal's width.
    everything = stytch_api.status(routes)
    for name in dict.fromkeys(e.area for e, _ in rows):
        in_area = [ok for e, ok in everything if e.area == name]
        out.print(f"{name} ({sum(in_area)} of {len(in_area)} served)", highlight=False, soft_wrap=True)
        for e, ok in rows:
            if e.area == name:
                mark = "served " if ok else "not yet"
                out.print(f"  {mark}  {e.method:6} {e.path}  {e.sdk_method}", highlight=False, soft_wrap=True)
    served_count = sum(ok for _, ok in everything)
    err.print(f"keystile serves {served_count} of Stytch's {len(everything)} endpoints")


def _on(value: bool) -> str:
    return "on" if value else "off"


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
    print_table(
        ["url", "types", "default for"],
        [[r["url"], ", ".join(r["types"]), ", ".join(r["default_for"]) or "—"] for r in rows],
        whole=("url",),
    )


@redirects_app.command("remove")
def redirect_urls_remove(
    url: Annotated[str, typer.Argument(help="The URL to remove from the allowlist (all its types).")],
    project: Annotated[str, typer.Option(help="The project_id.")],
) -> None:
    """Remove a redirect URL from the allowlist."""
    from keystile.projects import service

    removed = _project_or_exit(lambda state: service.remove_redirect_url(state.conn, project, url))
    err.print(f"removed {removed} entr{'y' if removed == 1 else 'ies'}")
