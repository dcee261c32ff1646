"""What one running keystile process shares between requests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystile.config import Settings
from keystile.core.area import Registry
from keystile.core.clock import Clock
from keystile.core.db import Connection, Database
from keystile.core.jwt_cache import JWTCache
from keystile.core.keys import Keyring, MasterKey


@dataclass
class AppState:
    settings: Settings
    db: Database
    clock: Clock
    keyring: Keyring
    # What the areas add (keystile/areas.py); empty for a CLI command that serves nothing.
    registry: Registry = field(default_factory=lambda: Registry(()))
    jwt_cache: JWTCache = field(default_factory=JWTCache)
    wake_deliverer: list = field(default_factory=list)
    # Set by core.ratelimit.install and core.observability.install.
    limiter: Any = None
    metrics: Any = None
    # A CLI command's transaction, set by cli/common.py `run` for the command it runs.
    conn: Connection = field(init=False, repr=False)

    @property
    def engine(self) -> AsyncEngine:
        return self.db.engine

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.db.transaction()


def make_state(
    settings: Settings,
    clock: Clock | None = None,
    new_key: Callable[[], RSAPrivateKey] | None = None,
    *,
    registry: Registry | None = None,
) -> AppState:
    """The shared state of a server process, or of a CLI command: this module leaves out
    the web stack (FastAPI, uvicorn), so a command does not pay for importing it.
    `new_key` makes the projects' signing keys (default: a fresh RSA key each time)."""
    master = MasterKey.from_settings(settings)
    clock = clock or Clock()
    return AppState(
        settings=settings,
        db=Database(settings.db_url, settings.database_connections),
        clock=clock,
        keyring=Keyring(master, clock, new_key),
        registry=registry or Registry(()),
    )
