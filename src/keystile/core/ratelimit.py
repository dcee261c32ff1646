"""Rate limits: Stytch's 429 `too_many_requests` for abuse (an address sent too many
emails, a client guessing tokens, a token whose PKCE verifier is being guessed) and, only
when the operator sets one, for a project that sends too many requests.

Defaults protect without throttling: the abuse limits are on, and nothing caps an app's
legitimate traffic unless `KEYSTILE_RATE_LIMIT_PROJECT` is set. Without that cap an
authenticated request costs the limiter nothing (no Redis round trip); with it, a request
is refused up front once the window is full and counted once it has validated (a 400 for
a malformed body does not spend the budget).

An abuse limit is a `Limit`: its name (the `scope` in metrics, and its setting
`KEYSTILE_RATE_LIMIT_<NAME>` or its entry in the `KEYSTILE_RATE_LIMITS` map), its default
windows, and which errors count as its failures. core/ declares the five limits every
deployment has; an area declares its own in its `Area` (`rate_limits`) and adds errors to
the two token limits (`unknown_token_errors`, `token_failure_errors`); the registry hands
them all to the `Limiter`. An area counts events with `hit` (an email sent: every call
counts) or guards an attempt with `guard` (refused up front while a window is full; the
errors each limit names count against it):

    # passwords/limits.py, listed in passwords/area.py as rate_limits=[PASSWORD_ACCOUNT, PASSWORD_IP]
    PASSWORD_ACCOUNT = Limit("password_account", "10/hour", failures=(WrongPassword,))
    PASSWORD_IP = Limit("password_ip", "100/hour", failures=(WrongPassword,))

    async with ratelimit.guard(ctx, (PASSWORD_ACCOUNT, member_id), (PASSWORD_IP, ratelimit.client_ip())):
        ...  # check the password; a WrongPassword raised here counts against both

Counters live in Redis when `KEYSTILE_REDIS_URL` is set, so every worker and every host
shares them; otherwise in the process (each worker then counts alone). The strategy is
the sliding window counter of the `limits` library: constant memory per key, no burst at
window edges. docs/configuration.md "Rate limits" lists the settings.

If Redis cannot be reached the request is let through and the failure logged: an outage
of the rate limiter must not become an outage of every login.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from keystile import errors
from keystile.core import crypto, emails

if TYPE_CHECKING:
    from keystile.config import Settings
    from keystile.core.context import Context

log = logging.getLogger("keystile.ratelimit")

# The client address of the request being served (set by the middleware below).
_client_ip: contextvars.ContextVar[str] = contextvars.ContextVar("keystile_client_ip", default="unknown")


@dataclass(frozen=True)
class Limit:
    """A rate limit, declared once by the area that counts against it.

    `name`: the metrics scope, and the setting `KEYSTILE_RATE_LIMIT_<NAME>` when Settings
    has that field, else the key in `KEYSTILE_RATE_LIMITS`. `default`: its windows in the
    `limits` notation (`"20/hour;50/day"`); empty is off unless the operator sets it.
    `failures`: for `guard`, the errors that count against it."""

    name: str
    default: str
    failures: tuple[type[errors.StytchError], ...] = ()


# The project-wide cap: off unless the operator sets it.
PROJECT = Limit("project", "")
# Emails per project and recipient address: nobody is mail-bombed through keystile.
EMAIL = Limit("email", "20/hour;50/day")
# Text messages (SMS, WhatsApp) per project and recipient number: each one costs money, and
# a flood of texts to one number is toll fraud or harassment.
TEXT = Limit("text", "10/hour;20/day")
# Unknown secret tokens per project and client address: guessing is refused quickly. What
# counts is what the areas declare (`Area.unknown_token_errors`).
UNKNOWN_TOKEN_IP = Limit("unknown_token_ip", "100/minute;1000/hour")
# Failed checks of one real token (a PKCE verifier being guessed; `Area.token_failure_errors`).
TOKEN_FAILURES = Limit("token_failures", "10/hour")
CORE_LIMITS = (PROJECT, EMAIL, TEXT, UNKNOWN_TOKEN_IP, TOKEN_FAILURES)


def parse(value: str | None, setting: str) -> list[RateLimitItem]:
    """`"20/hour;50/day"` → limit items, shortest window first; empty → no limit."""
    if not value or not value.strip():
        return []
    try:
        items = parse_many(value)
    except ValueError:
        raise ValueError(f"{setting} must look like '20/minute' or '20/hour;50/day', not {value!r}") from None
    return sorted(items, key=lambda item: item.get_expiry())


def storage_uri(redis_url: str) -> str:
    """The `limits` storage URI for a plain `redis://` / `rediss://` URL."""
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


def configured(settings: Settings, limit: Limit) -> tuple[str, str]:
    """(windows, setting name) of a limit: its own setting if Settings has one, else its
    entry in `rate_limits`, else its default."""
    field = f"rate_limit_{limit.name}"
    value = getattr(settings, field, None)
    if value is not None:
        return value, f"KEYSTILE_{field.upper()}"
    return (settings.rate_limits or {}).get(limit.name, limit.default), f"KEYSTILE_RATE_LIMITS[{limit.name!r}]"


class Limiter:
    """The rate limits of one keystile process, over one shared storage: core's and those
    the areas declare (`limits`), with the errors the areas count against the token limits."""

    def __init__(
        self,
        settings: Settings,
        metrics: Any = None,
        *,
        limits: Sequence[Limit] = (),
        unknown_token_errors: tuple[type[errors.StytchError], ...] = (),
        token_failure_errors: tuple[type[errors.StytchError], ...] = (),
    ) -> None:
        self.settings = settings
        self.redis_url = settings.redis_url
        self.metrics = metrics
        self.limits: dict[str, Limit] = {}
        for limit in (*CORE_LIMITS, *limits):
            if self.limits.setdefault(limit.name, limit) is not limit:
                raise ValueError(f"rate limit {limit.name!r} is declared twice")
        self._failures: dict[str, tuple[type[errors.StytchError], ...]] = {
            name: limit.failures for name, limit in self.limits.items()
        }
        self._failures[UNKNOWN_TOKEN_IP.name] += unknown_token_errors
        self._failures[TOKEN_FAILURES.name] += token_failure_errors
        self._windows: dict[str, list[RateLimitItem]] = {}
        for limit in self.limits.values():  # a malformed setting stops the server at start
            self.windows(limit)
        self._storage: Storage | None = None
        self._strategy: SlidingWindowCounterRateLimiter | None = None
        self._warned_at = 0.0

    def windows(self, limit: Limit) -> list[RateLimitItem]:
        """The limit's windows as configured; [] when it is off."""
        found = self._windows.get(limit.name)
        if found is None:
            found = self._windows[limit.name] = parse(*configured(self.settings, limit))
        return found

    def failures(self, limit: Limit) -> tuple[type[errors.StytchError], ...]:
        """The errors that count against `limit` in `guard`."""
        return self._failures.get(limit.name, limit.failures)

    @property
    def project(self) -> list[RateLimitItem]:
        return self.windows(PROJECT)

    @property
    def shared(self) -> bool:
        return self.redis_url is not None

    def _limiter(self) -> SlidingWindowCounterRateLimiter:
        # Built on first use, inside the serving event loop the Redis client binds to.
        if self._strategy is None:
            if self.redis_url:
                self._storage = RedisStorage(storage_uri(self.redis_url), key_prefix="keystile")
            else:
                self._storage = MemoryStorage()
            self._strategy = SlidingWindowCounterRateLimiter(self._storage)
        return self._strategy

    async def hit(self, scope: str, items: list[RateLimitItem], *key: str) -> None:
        """Count one event against every window of a limit; 429 once any window is full."""
        for item in items:
            if not await self._ask(self._limiter().hit, item, scope, *key):
                self._count_hit(scope)
                raise errors.TooManyRequests()

    async def check(self, scope: str, items: list[RateLimitItem], *key: str) -> None:
        """429 if a limit is already used up, without counting anything."""
        for item in items:
            if not await self._ask(self._limiter().test, item, scope, *key):
                self._count_hit(scope)
                raise errors.TooManyRequests()

    async def count(self, scope: str, items: list[RateLimitItem], *key: str) -> None:
        """Count one event that already happened; a full window shows on the next check."""
        with suppress(errors.TooManyRequests):
            await self.hit(scope, items, *key)

    async def _ask(self, method: Callable[..., Awaitable[bool]], item: RateLimitItem, *key: str) -> bool:
        try:
            return bool(await method(item, *key))
        except Exception as exc:  # noqa: BLE001 - Redis down or unreachable: fail open, say so now and then
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limit storage unavailable, letting requests through: %s", exc)
            return True

    def _count_hit(self, scope: str) -> None:
        inc = getattr(self.metrics, "inc", None)
        if callable(inc):
            inc("rate_limit_hits_total", scope=scope)


def _limiter(ctx: Context) -> Limiter | None:
    limiter: Limiter | None = ctx.state.limiter
    if limiter is not None and limiter.metrics is None:
        limiter.metrics = ctx.state.metrics
    return limiter


def client_ip() -> str:
    """The address of the client of the request being served."""
    return _client_ip.get()


async def check_project(ctx: Context) -> None:
    """429 before anything runs when the project's cap (if one is set) is used up."""
    limiter = _limiter(ctx)
    if limiter is not None and limiter.project:
        await limiter.check(PROJECT.name, limiter.project, ctx.project_id)


async def count_project(ctx: Context) -> None:
    """Count a request that validated against the project's cap (if one is set)."""
    limiter = _limiter(ctx)
    if limiter is not None and limiter.project:
        await limiter.count(PROJECT.name, limiter.project, ctx.project_id)


async def hit(ctx: Context, limit: Limit, *key: str) -> None:
    """Count one event of this project against `limit` (keyed by `key`); 429 once full."""
    limiter = _limiter(ctx)
    if limiter is not None:
        windows = limiter.windows(limit)
        if windows:
            await limiter.hit(limit.name, windows, ctx.project_id, *key)


async def hit_email(ctx: Context, address: str) -> None:
    """One more email to this address from this project: the guard against mail bombing."""
    await hit(ctx, EMAIL, emails.normalize(address))


async def hit_text(ctx: Context, e164: str) -> None:
    """One more SMS or WhatsApp message to this number from this project."""
    await hit(ctx, TEXT, e164)


@asynccontextmanager
async def guard(ctx: Context, *checks: tuple[Limit, str]) -> AsyncIterator[None]:
    """Guard one attempt by (limit, key) pairs: refused up front while any of them is used
    up; an error raised inside that a limit names in `failures` counts against that limit
    (keyed by its key, within the project), and goes on unchanged."""
    limiter = _limiter(ctx)
    active = [(limit, key, limiter.windows(limit)) for limit, key in checks] if limiter else []
    active = [(limit, key, windows) for limit, key, windows in active if windows]
    if limiter is None or not active:
        yield
        return
    for limit, key, windows in active:
        await limiter.check(limit.name, windows, ctx.project_id, key)
    try:
        yield
    except errors.StytchError as exc:
        for limit, key, windows in active:
            if isinstance(exc, limiter.failures(limit)):
                # The attempt already failed with its own error; a full window shows on the next one.
                await limiter.count(limit.name, windows, ctx.project_id, key)
        raise


def attempts(ctx: Context, token: str) -> AbstractAsyncContextManager[None]:
    """Guard one authentication attempt with a secret token: refused while the client's
    address has guessed too many unknown tokens or this token has failed too many checks."""
    return guard(ctx, (UNKNOWN_TOKEN_IP, client_ip()), (TOKEN_FAILURES, crypto.hash_token(token)))


class ClientAddress:
    """Pure ASGI middleware: remembers the client address for the limits keyed by it.

    Behind a proxy, uvicorn's `--proxy-headers` / `--forwarded-allow-ips` put the real
    client in the ASGI scope; keystile reads only the scope.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            token = _client_ip.set(client[0] if client else "unknown")
            try:
                await self.app(scope, receive, send)
            finally:
                _client_ip.reset(token)
            return
        await self.app(scope, receive, send)


def install(app: Any, state: Any) -> None:
    """Give the application its limiter (`state.limiter`) and the client-address middleware."""
    registry = state.registry
    state.limiter = Limiter(
        state.settings,
        state.metrics,
        limits=registry.rate_limits,
        unknown_token_errors=registry.unknown_token_errors,
        token_failure_errors=registry.token_failure_errors,
    )
    app.add_middleware(ClientAddress)
