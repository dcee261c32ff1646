"""What one running keystile process shares between requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from keystile.config import Settings
from keystile.core.clock import Clock
from keystile.core.keys import Keyring
from keystile.sessions.jwts import JWTCache


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    clock: Clock
    keyring: Keyring
    jwt_cache: JWTCache = field(default_factory=JWTCache)
    wake_deliverer: list = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
