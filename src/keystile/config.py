"""Settings (environment, `KEYSTILE_` prefix) and the `keystile.toml` loader."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from keystile.rbac.policy import Policy as RBACPolicy

DEFAULT_DATA_DIR = Path(".keystile")


class Settings(BaseSettings):
    """Everything keystile reads from its environment. Passed into `create_app`."""

    model_config = SettingsConfigDict(env_prefix="KEYSTILE_", extra="ignore")

    env: Literal["dev", "production"] = "dev"
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    # PostgreSQL connections one process holds at most (pool for transactions + read pool).
    database_connections: int = Field(default=30, ge=2)
    host: str = "127.0.0.1"
    port: int = 4010
    public_url: str | None = None
    smtp_url: str | None = None
    redis_url: str | None = None
    # Rate limits (`limits` notation, `;` between windows; empty disables one). README, "Rate limits".
    rate_limit_project: str = "1000/second"
    rate_limit_email: str = "20/hour;50/day"
    rate_limit_unknown_token_ip: str = "100/minute;1000/hour"
    rate_limit_token_failures: str = "10/hour"
    # Outbox delivery: a claim older than this is a dead worker's and may be taken over.
    outbox_claim_timeout_seconds: float = 60.0
    outbox_max_attempts: int = 8
    email_from: str = "keystile <login@keystile.localhost>"
    dev_inbox: bool | None = None
    master_key: SecretStr | None = None
    max_body_bytes: int = 1_048_576
    auto_migrate: bool | None = None
    config_file: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # FastAPI's OpenTelemetry spans, metrics and logs, for a process run with an OpenTelemetry
    # SDK configured (opentelemetry-instrument). Off, it costs nothing per request; on but
    # unconfigured, it costs a provider lookup per request.
    opentelemetry: bool = False
    # Seconds `keystile serve` lets in-flight requests finish after SIGTERM before cancelling them.
    shutdown_timeout: float = 30.0
    # Set by `keystile serve` after it migrated and seeded once, before starting workers.
    prepared: bool = False

    @property
    def dev(self) -> bool:
        return self.env == "dev"

    @property
    def inbox_enabled(self) -> bool:
        return self.dev if self.dev_inbox is None else self.dev_inbox

    @property
    def db_url(self) -> str:
        """The SQLAlchemy async URL; SQLite under `data_dir` by default."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'keystile.db'}"
        return async_url(url)

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def migrate_on_start(self) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.is_sqlite and self.dev

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/") + "/"


def async_url(url: str) -> str:
    """Map a plain database URL onto the async driver keystile uses for it."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class RedirectURLConfig(BaseModel):
    url: str
    types: list[str] = Field(default_factory=lambda: ["login", "signup", "invite", "discovery", "reset_password"])
    default: bool = False


class ProjectConfig(BaseModel):
    project_id: str
    secret: SecretStr
    name: str | None = None
    live: bool = False
    public_token: str | None = None
    redirect_urls: list[RedirectURLConfig] = Field(default_factory=list)
    # `[projects.rbac]`: resources, roles and scopes (docs/authorization.md); absent leaves the
    # stored policy as it is.
    rbac: RBACPolicy | None = None


class FileConfig(BaseModel):
    """The shape of `keystile.toml`."""

    model_config = {"extra": "forbid"}

    projects: list[ProjectConfig] = Field(default_factory=list)


def load_file_config(path: Path) -> FileConfig:
    with path.open("rb") as f:
        return FileConfig.model_validate(tomllib.load(f))
