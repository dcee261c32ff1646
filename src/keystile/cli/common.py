"""What every CLI command shares: the consoles and `run`, one transaction on the configured database.

Commands import what they use when they run: `keystile keys rotate` loads the database
layer, not the web stack (FastAPI, uvicorn, rate limits, metrics) that `serve` needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

T = TypeVar("T")

err = Console(stderr=True)
out = Console()


def run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(state)` in one transaction against the configured database (`state.conn`)."""
    from keystile.config import Settings
    from keystile.core import migrate as migrations
    from keystile.core.keys import MasterKeyMismatch, MasterKeyMissing
    from keystile.core.state import make_state

    settings = Settings()
    try:
        state = make_state(settings)
    except (MasterKeyMissing, MasterKeyMismatch) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None

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
