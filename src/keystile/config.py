"""Settings (environment, `KEYSTILE_` prefix) and the `keystile.toml` loader."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from keystile.core.password_policy import PasswordPolicy
from keystile.core.policy import Policy as RBACPolicy
from keystile.core.redirect_urls import RedirectType

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
    # Outbound HTTP (an IdP's discovery document, JWKS, token and userinfo endpoints; SAML
    # metadata by URL) to loopback, private, link-local and other non-public addresses:
    # allowed in dev (an IdP on the developer's machine), refused in production unless set.
    outbound_private_addresses: bool | None = None
    outbound_timeout_seconds: float = 5.0
    smtp_url: str | None = None
    # SMS and WhatsApp by Twilio's Messages API (core/twilio.py, docs/configuration.md "Text messages"), e.g.
    # twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15017122661
    sms_url: SecretStr | None = None
    redis_url: str | None = None
    # Rate limits (`limits` notation, `;` between windows; empty disables one). docs/configuration.md, "Rate limits".
    # No project-wide cap unless the operator sets one; the abuse limits are on.
    rate_limit_project: str = ""
    rate_limit_email: str = "20/hour;50/day"
    rate_limit_unknown_token_ip: str = "100/minute;1000/hour"
    rate_limit_token_failures: str = "10/hour"
    # Any other declared limit by name (core/ratelimit.py `Limit`), as JSON: {"name": "5/minute"}.
    rate_limits: dict[str, str] = Field(default_factory=dict)
    # Have I Been Pwned's k-anonymity range API (passwords/breach.py): off unless set, e.g.
    # https://api.pwnedpasswords.com. Only the first 5 hex characters of a password's SHA-1
    # leave the machine. A timeout or error counts the password as not breached (fails open):
    # the shipped list still applies.
    pwned_passwords_url: str | None = None
    pwned_passwords_timeout: float = Field(default=2.0, gt=0)
    # Password hashes computed at once (argon2id and the migrated types, in threads off the
    # event loop); more wait their turn. 0: the machine's CPU count.
    password_hash_threads: int = Field(default=0, ge=0)
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

    @field_validator("sms_url")
    @classmethod
    def _twilio_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Refused at start-up, not at the first text: the format is docs/configuration.md's "Text messages"."""
        if value is not None and value.get_secret_value():
            from keystile.core.twilio import TwilioTarget

            TwilioTarget.parse(value.get_secret_value())
            return value
        return None

    @property
    def dev(self) -> bool:
        return self.env == "dev"

    @property
    def allows_private_addresses(self) -> bool:
        return self.dev if self.outbound_private_addresses is None else self.outbound_private_addresses

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


def check_userinfo_url(url: str) -> str:
    """An absolute http(s) URL with a host, for the session migration userinfo endpoint."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL, e.g. https://auth.example.com/userinfo")
    return url.strip()


ALL_REDIRECT_TYPES = [t.value for t in RedirectType]

# What Stytch's SDKs read from a project id (`project-live-…` selects the live API) and what a
# Basic auth header can carry; a secret short enough to guess is refused.
PROJECT_ID_PATTERN = re.compile(r"project-(test|live)-[A-Za-z0-9][A-Za-z0-9-]*")
PUBLIC_TOKEN_PATTERN = re.compile(r"public-token-(test|live)-[A-Za-z0-9][A-Za-z0-9-]*")
MIN_SECRET_LENGTH = 24


class RedirectURLConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    types: list[RedirectType] = Field(default_factory=lambda: list(RedirectType))
    default: bool = False

    @field_validator("url")
    @classmethod
    def _has_scheme(cls, url: str) -> str:
        if "://" not in url:
            raise ValueError(f"{url!r} needs a scheme, e.g. https://app.example.com/authenticate")
        return url


class OAuthClientConfig(BaseModel):
    """`[projects.oauth.<provider>]`: the project's client at an OAuth provider
    (oauth/providers.py), and any of the provider's endpoints or scopes pointed elsewhere."""

    model_config = ConfigDict(extra="forbid")

    client_id: str
    client_secret: SecretStr
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    emails_url: str | None = None
    orgs_url: str | None = None
    scopes: list[str] | None = None

    def settings(self) -> dict[str, Any]:
        return self.model_dump(exclude={"client_id", "client_secret"}, exclude_none=True)


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: str
    secret: SecretStr
    name: str | None = None
    live: bool = False
    public_token: str | None = None
    redirect_urls: list[RedirectURLConfig] = Field(default_factory=list)
    # Emailed links go through keystile's redirect page, which email scanners cannot spend
    # (ADR 0015); false sends them straight to the app (universal links on mobile). Absent
    # leaves the stored setting as it is (on for a new project).
    email_link_redirect: bool | None = None
    # `[projects.rbac]`: resources, roles and scopes (docs/authorization.md); absent leaves the
    # stored policy as it is.
    rbac: RBACPolicy | None = None
    # ISO country codes the project sends SMS and WhatsApp to (core/phones.py); absent leaves
    # the stored list as it is (a new project: US and CA).
    sms_country_codes: list[str] | None = None
    # `[projects.passwords]`: the password strength policy (core/password_policy.py,
    # docs/configuration.md "Passwords"); absent leaves the stored policy as it is (zxcvbn).
    passwords: PasswordPolicy | None = None
    # The OIDC userinfo endpoint sessions.migrate asks about another provider's session token
    # (docs/configuration.md "Session migration"); "" turns it off, absent leaves it as it is.
    session_migration_url: str | None = None
    # `[projects.oauth.google]` and so on: OAuth clients by provider (docs/sso.md); absent
    # leaves the stored clients as they are; a provider listed replaces that provider's client.
    oauth: dict[str, OAuthClientConfig] | None = None

    @field_validator("project_id")
    @classmethod
    def _stytch_project_id(cls, value: str) -> str:
        if not PROJECT_ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Stytch project id: use project-test-<id> or project-live-<id> "
                "(letters, digits and dashes; Stytch's SDKs pick the live or test API by this prefix)"
            )
        return value

    @field_validator("session_migration_url")
    @classmethod
    def _userinfo_url(cls, value: str | None) -> str | None:
        return check_userinfo_url(value) if value else value

    @field_validator("sms_country_codes")
    @classmethod
    def _known_countries(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        from keystile.core.phones import clean_country_codes

        return clean_country_codes(value)

    @field_validator("public_token")
    @classmethod
    def _stytch_public_token(cls, value: str | None) -> str | None:
        if value is not None and not PUBLIC_TOKEN_PATTERN.fullmatch(value):
            raise ValueError(f"{value!r} is not a public token: use public-token-test-<id> or public-token-live-<id>")
        return value

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"the secret is {len(secret)} characters; use at least {MIN_SECRET_LENGTH} "
                "(`keystile projects create --json` makes one of 48)"
            )
        if any(c.isspace() or not c.isprintable() for c in secret):
            raise ValueError("the secret contains spaces or control characters")
        return value

    @model_validator(mode="after")
    def _live_matches_id(self) -> ProjectConfig:
        live_id = self.project_id.startswith("project-live-")
        if live_id != self.live:
            raise ValueError(
                f"project_id {self.project_id!r} is a {'live' if live_id else 'test'} id but live = "
                f"{'true' if self.live else 'false'}; make them agree"
            )
        other = "secret-test-" if self.live else "secret-live-"
        if self.secret.get_secret_value().startswith(other):
            raise ValueError(
                f"a {'live' if self.live else 'test'} project with a {other[7:11]} secret ({other}…); "
                "a secret copied from the wrong project?"
            )
        return self


class FileConfig(BaseModel):
    """The shape of `keystile.toml`."""

    model_config = ConfigDict(extra="forbid")

    projects: list[ProjectConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> FileConfig:
        seen: set[str] = set()
        for p in self.projects:
            if p.project_id in seen:
                raise ValueError(f"project {p.project_id} is declared twice")
            seen.add(p.project_id)
        return self


class ConfigFileError(ValueError):
    """keystile.toml cannot be read or says something keystile refuses; the message names
    the file, the line where it can be told, the key and what is allowed."""


def load_file_config(path: Path) -> FileConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"No such config file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"Cannot read the config file {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(_toml_problem(path, exc)) from None
    try:
        return FileConfig.model_validate(data)
    except ValidationError as exc:
        lines = _key_lines(text)
        raise ConfigFileError(
            "\n".join(_validation_problem(path, lines, item) for item in exc.errors(include_url=False))
        ) from None


def _toml_problem(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    """`keystile.toml line 3: Expected '=' after a key … (column 5)` from tomllib's message."""
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if found:
        what = message[: found.start()]
        return f"{path} line {found.group(1)}: {what} (column {found.group(2)}); not valid TOML"
    found = re.search(r"\s*\(at end of document\)\s*$", message)
    if found:
        return f"{path} at the end: {message[: found.start()]}; not valid TOML"
    return f"{path}: {message}; not valid TOML"


def _validation_problem(path: Path, lines: dict[tuple[Any, ...], int], item: ErrorDetails) -> str:
    loc = tuple(item.get("loc", ()))
    kind = item.get("type")
    where = _line_of(lines, loc)
    prefix = f"{path} line {where}" if where else str(path)
    key = _dotted(loc)
    if kind == "extra_forbidden":
        parent = _dotted(loc[:-1]) or "the top level"
        allowed = ", ".join(_allowed_keys(loc[:-1]))
        return f"{prefix}: unknown key {loc[-1]!r} in {parent}; allowed keys: {allowed}"
    if kind == "missing":
        parent = _dotted(loc[:-1]) or "the top level"
        return f"{prefix}: {parent} needs {loc[-1]!r}"
    message = str(item.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    if kind == "enum" and "types" in loc:
        message = f"{item.get('input')!r} is not a redirect type; allowed: {', '.join(ALL_REDIRECT_TYPES)}"
    return f"{prefix}: {key or 'file'}: {message}"


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the table at `loc` may have, from the models."""
    model: Any = FileConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Where each table and key of a TOML text is, as pydantic locations (`("projects", 0,
    "secret")`) to 1-based line numbers. Covers what keystile.toml uses: `[table]`,
    `[[array.of.tables]]` and `key = value`; a key inside an inline table is found by its table."""
    lines: dict[tuple[Any, ...], int] = {}
    counts: dict[tuple[Any, ...], int] = {}
    current: tuple[Any, ...] = ()

    def resolve(names: list[str]) -> tuple[Any, ...]:
        path: tuple[Any, ...] = ()
        for name in names:
            path = (*path, name)
            if path in counts:
                path = (*path, counts[path])
        return path

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.fullmatch(r"\[\[\s*([^\]]+?)\s*\]\]\s*(#.*)?", line)
        if header:
            names = [n.strip().strip("\"'") for n in header.group(1).split(".")]
            parent = resolve(names[:-1])
            array = (*parent, names[-1])
            counts[array] = counts.get(array, -1) + 1
            current = (*array, counts[array])
            lines.setdefault(current, number)
            continue
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]\s*(#.*)?", line)
        if header:
            current = resolve([n.strip().strip("\"'") for n in header.group(1).split(".")])
            lines.setdefault(current, number)
            continue
        key = re.match(r"([A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')\s*=", line)
        if key:
            lines.setdefault((*current, key.group(1).strip("\"'")), number)
    return lines


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    """The line of `loc` or, failing that, of the nearest table or key that holds it."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None
