"""What every CLI command shares: the consoles and `run`, one transaction on the configured database.

Commands import what they use when they run: `keystile keys rotate` loads the database
layer, not the web stack (FastAPI, uvicorn, rate limits, metrics) that `serve` needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from keystile.config import Settings
    from keystile.core.clock import Clock
    from keystile.core.db import Database
    from keystile.core.keys import Keyring

T = TypeVar("T")

err = Console(stderr=True)
out = Console()


@dataclass
class CommandState:
    """What a command works with: the settings, database, clock and keyring a server's
    AppState holds (AppState itself brings in the web stack), and `conn`, the command's
    one transaction."""

    settings: Settings
    db: Database
    clock: Clock
    keyring: Keyring
    conn: AsyncConnection | None = None


def run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(state)` in one transaction against the configured database (`state.conn`)."""
    from keystile.config import Settings
    from keystile.core import migrate as migrations
    from keystile.core.clock import Clock
    from keystile.core.db import Database
    from keystile.core.keys import (
        Keyring,
        MasterKey,
        MasterKeyMismatch,
        MasterKeyMissing,
    )

    settings = Settings()
    try:
        master = MasterKey.from_settings(settings)
    except (MasterKeyMissing, MasterKeyMismatch) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    clock = Clock()
    db = Database(settings.db_url, settings.database_connections)
    state = CommandState(settings, db, clock, Keyring(master, clock))

    async def main() -> T:
        try:
            if settings.migrate_on_start:
                await asyncio.to_thread(migrations.upgrade, settings.db_url)
            try:
                await migrations.require_current(state.db.engine)
            except migrations.SchemaBehind as exc:
                err.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
            async with state.db.transaction() as conn:
                state.conn = conn
                return await work(state)
        finally:
            await state.db.engine.dispose()

    try:
        return asyncio.run(main())
    except MasterKeyMismatch as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
