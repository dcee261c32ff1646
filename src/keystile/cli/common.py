"""What every CLI command shares: the consoles, `run` (one transaction on the configured
database), and `reported`, which turns a failure a person can fix into one or two lines
and an exit code instead of a traceback.

Commands import what they use when they run: `keystile keys rotate` loads the database
layer, not the web stack (FastAPI, uvicorn, rate limits, metrics) that `serve` needs.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.models import CommandFunctionType

T = TypeVar("T")

err = Console(stderr=True)
out = Console()

# Set by `keystile --debug` (cli/__init__.py) for the command it runs.
DEBUG = False


def debugging() -> bool:
    """Tracebacks wanted: `keystile --debug …` or KEYSTILE_LOG_LEVEL=debug."""
    return DEBUG or os.environ.get("KEYSTILE_LOG_LEVEL", "").strip().lower() == "debug"


class CommandFailed(Exception):
    """A failure the command has already put into words; `reported` prints it and exits."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` in red on stderr; the exit to raise (`raise fail(...)`)."""
    # soft_wrap: the terminal wraps a long line, so a message stays one line per thought.
    err.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    return typer.Exit(code)


def _database_shown() -> str:
    """The configured database, password hidden, for messages."""
    url = os.environ.get("KEYSTILE_DATABASE_URL")
    if not url:
        data_dir = os.environ.get("KEYSTILE_DATA_DIR", ".keystile")
        return f"the SQLite database in {data_dir}"
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  an unparsable URL is shown as given, minus anything like a password
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)


def _database_name() -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(os.environ.get("KEYSTILE_DATABASE_URL", "")).database or "NAME"
    except Exception:  # noqa: BLE001  only a hint
        return "NAME"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _settings_problem(exc: Any) -> str:
    """A pydantic error of `Settings` as environment variable names and what is wrong with each."""
    parts = []
    for item in exc.errors(include_url=False):
        name = "KEYSTILE_" + "_".join(str(p) for p in item.get("loc", ())).upper()
        value = os.environ.get(name)
        private = "SECRET" in name or name.endswith(("_KEY", "_URL"))
        shown = f"={value!r}" if value is not None and not private else ""
        parts.append(f"{name}{shown}: {item.get('msg')}")
    return "Invalid setting: " + "; ".join(parts) + "."


def explain(exc: BaseException) -> tuple[str, int] | None:
    """What to tell a person about `exc`, and the exit code; None for a bug (keep the traceback)."""
    from pydantic import ValidationError
    from sqlalchemy import exc as sa_exc

    from keystile.config import ConfigFileError
    from keystile.core.keys import MasterKeyMismatch, MasterKeyMissing
    from keystile.core.migrate import SchemaBehind

    if isinstance(exc, CommandFailed):
        return str(exc), exc.code
    if isinstance(exc, (ConfigFileError, SchemaBehind, MasterKeyMissing, MasterKeyMismatch)):
        return str(exc), 2
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return _settings_problem(exc), 2
    database = _database_shown()
    if isinstance(exc, (sa_exc.NoSuchModuleError, sa_exc.ArgumentError)) or (
        isinstance(exc, ModuleNotFoundError) and os.environ.get("KEYSTILE_DATABASE_URL")
    ):
        return (
            f"KEYSTILE_DATABASE_URL names a database keystile cannot use ({database}).\n"
            "Use postgresql://user:password@host:5432/name or sqlite:///path/to/keystile.db.",
            2,
        )
    if isinstance(exc, sa_exc.DBAPIError):
        cause = exc.orig if exc.orig is not None else exc
        reason = _first_line(cause)
        if "does not exist" in reason and "database" in reason:
            hint = f"Create it (`createdb {_database_name()}`) or point KEYSTILE_DATABASE_URL at one that exists."
        elif "unable to open database file" in reason:
            hint = "Check that KEYSTILE_DATA_DIR (or the path in KEYSTILE_DATABASE_URL) is a writable directory."
        else:
            hint = "Check KEYSTILE_DATABASE_URL (user, password, database name) and the database server's log."
        return f"Cannot use {database}: {reason}.\n{hint}", 2
    if isinstance(exc, OSError) and exc.filename is not None:
        return (
            f"{exc.strerror or _first_line(exc)}: {exc.filename}.\n"
            "Check KEYSTILE_DATA_DIR (default ./.keystile): keystile keeps its SQLite database and dev keys there.",
            2,
        )
    if isinstance(exc, OSError):  # refused, timed out, an unknown host name: the database's address
        return (
            f"Cannot reach the database ({type(exc).__name__}: {_first_line(exc)}).\n"
            f"Is it running at {database}? Start it or fix KEYSTILE_DATABASE_URL.",
            2,
        )
    return None


@contextmanager
def reported() -> Iterator[None]:
    """Run a command's body; a failure a person can act on ends it with one or two lines on
    stderr and exit code 2 (1 for anything unexpected). `--debug` or KEYSTILE_LOG_LEVEL=debug
    keeps the whole traceback."""
    try:
        yield
    except (typer.Exit, typer.Abort, click.exceptions.ClickException, KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if debugging():
            raise
        explained = explain(exc)
        if explained is None:
            message, code = (
                f"keystile failed unexpectedly: {type(exc).__name__}: {_first_line(exc)}\n"
                "Run it again with `keystile --debug …` for the traceback, and please report it.",
                1,
            )
        else:
            message, code = explained
        raise fail(message, code) from None


def run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(state)` in one transaction against the configured database (`state.conn`).
    Failures propagate: the command's `reported` (every command has one, see `Typer`) words them."""
    from keystile.config import Settings
    from keystile.core import migrate as migrations
    from keystile.core.state import make_state

    settings = Settings()
    state = make_state(settings)

    async def main() -> T:
        try:
            if settings.migrate_on_start:
                await asyncio.to_thread(migrations.upgrade, settings.db_url)
            await migrations.require_current(state.db.engine)
            async with state.db.transaction() as conn:
                state.conn = conn
                return await work(state)
        finally:
            await state.db.engine.dispose()

    return asyncio.run(main())


class Typer(typer.Typer):
    """typer.Typer whose every command runs inside `reported`: no command of keystile's
    ends in a traceback unless one is asked for."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        # A traceback, when asked for, as Python prints it (short, searchable, pasteable).
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        register = super().command(name, **kwargs)

        def decorator(f: CommandFunctionType) -> CommandFunctionType:
            @functools.wraps(f)
            def reporting(*a: Any, **kw: Any) -> Any:
                with reported():
                    return f(*a, **kw)

            register(reporting)
            return f

        return decorator


def _plain_help() -> None:
    """Help that reads like a command line's: a flag is shown without a `<bool>` value it does
    not take, and a required argument as `URL` rather than `{url}` (typer ≥ 0.2x renders both
    so). Guarded: a typer without these hooks is left as it is."""
    from typer import core

    option_type = getattr(core.TyperOption, "display_type_rich", None)
    if option_type is not None and not getattr(option_type, "_keystile", False):

        def display_type_rich(self: Any, ctx: click.Context) -> str | None:
            if getattr(self, "is_flag", False) and not getattr(self, "count", False):
                return None
            return option_type(self, ctx)

        display_type_rich._keystile = True  # type: ignore[attr-defined]
        core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign,assignment]

    if hasattr(core.TyperArgument, "_usage_display_name"):

        def _usage_display_name(self: Any) -> str:
            name = (self.metavar or self.name or "").upper()
            name = name if self.required else f"[{name}]"
            return name + ("..." if self.nargs != 1 else "")

        core.TyperArgument._usage_display_name = _usage_display_name  # type: ignore[method-assign]


_plain_help()


def print_table(headers: list[str], rows: list[list[str]], *, whole: tuple[str, ...], title: str | None = None) -> None:
    """A table on stdout whose `whole` columns (ids, URLs) are never cut or broken. The first
    column is always shown; the others wrap (those not in `whole`) and, when they still do not
    fit, are left out from the right and named below the table (`--json` prints everything).
    When the first column alone is wider than the terminal, the table is printed as wide as it
    needs: the terminal wraps its lines, nothing is lost."""
    from rich.table import Column, Table

    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    # A column not kept whole may wrap down to a few characters.
    least = [widths[i] if h in whole else min(widths[i], max(8, len(h))) for i, h in enumerate(headers)]
    shown = list(range(len(headers)))
    width = out.width

    def needed(columns: list[int]) -> int:
        return 1 + sum(least[i] + 3 for i in columns)  # each column: text, padding, a border

    dropped: list[str] = []
    while needed(shown) > width and len(shown) > 1:
        dropped.insert(0, headers[shown.pop()])
    table = Table(
        *(
            Column(headers[i], no_wrap=True, min_width=widths[i])
            if headers[i] in whole
            else Column(headers[i], overflow="fold", min_width=least[i])
            for i in shown
        ),
        title=title,
    )
    for r in rows:
        table.add_row(*(r[i] for i in shown))
    out.print(table, width=max(width, needed(shown)), crop=False)
    if dropped:
        out.file.flush()
        err.print(f"({', '.join(dropped)} left out at this width: widen the terminal or use --json)")
