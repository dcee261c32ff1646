"""Rate limits: Stytch's 429 `too_many_requests` for a project that sends too many
requests, an address that is sent too many emails, and a client or token that fails to
authenticate too often.

Counters live in Redis when `KEYSTILE_REDIS_URL` is set, so every worker and every host
shares them; otherwise in the process (each worker then counts alone). The strategy is
the sliding window counter of the `limits` library: constant memory per key, no burst at
window edges. Limits are settings (`KEYSTILE_RATE_LIMIT_*`, README "Rate limits").

If Redis cannot be reached the request is let through and the failure logged: an outage
of the rate limiter must not become an outage of every login.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
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


def parse(value: str | None, setting: str) -> list[RateLimitItem]:
    """`"20/hour;50/day"` → limit items, shortest window first; empty → no limit."""
    if not value or not value.strip():
        return []
    try:
        items = parse_many(value)
    except ValueError:
        raise ValueError(
            f"KEYSTILE_{setting.upper()} must look like '20/minute' or '20/hour;50/day', not {value!r}"
        ) from None
    return sorted(items, key=lambda item: item.get_expiry())


def storage_uri(redis_url: str) -> str:
    """The `limits` storage URI for a plain `redis://` / `rediss://` URL."""
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


class Limiter:
    """The four limits of one keystile process, over one shared storage.

    What counts as a failed authentication attempt is what the areas declare
    (`Area.unknown_token_errors`, `Area.token_failure_errors`), handed in from the registry."""

    def __init__(
        self,
        settings: Settings,
        metrics: Any = None,
        *,
        unknown_token_errors: tuple[type[errors.StytchError], ...] = (),
        token_failure_errors: tuple[type[errors.StytchError], ...] = (),
    ) -> None:
        self.project = parse(settings.rate_limit_project, "rate_limit_project")
        self.email = parse(settings.rate_limit_email, "rate_limit_email")
        self.unknown_token_ip = parse(settings.rate_limit_unknown_token_ip, "rate_limit_unknown_token_ip")
        self.token_failures = parse(settings.rate_limit_token_failures, "rate_limit_token_failures")
        self.redis_url = settings.redis_url
        self.metrics = metrics
        self.unknown_token_errors = unknown_token_errors
        self.token_failure_errors = token_failure_errors
        self._storage: Storage | None = None
        self._strategy: SlidingWindowCounterRateLimiter | None = None
        self._warned_at = 0.0

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

    async def _ask(self, method: Any, item: RateLimitItem, *key: str) -> bool:
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
    limiter = ctx.state.limiter
    if limiter is not None and limiter.metrics is None:
        limiter.metrics = ctx.state.metrics
    return limiter


async def hit_project(ctx: Context) -> None:
    """One more request by this project (called once per authenticated request)."""
    limiter = _limiter(ctx)
    if limiter and limiter.project:
        await limiter.hit("project", limiter.project, ctx.project_id)


async def hit_email(ctx: Context, address: str) -> None:
    """One more email to this address from this project: the guard against mail bombing."""
    limiter = _limiter(ctx)
    if limiter and limiter.email:
        await limiter.hit("email", limiter.email, ctx.project_id, emails.normalize(address))


@asynccontextmanager
async def attempts(ctx: Context, token: str) -> AsyncIterator[None]:
    """Guard one authentication attempt with a secret token.

    Refused up front while the client's address has guessed too many unknown tokens, or
    this token has failed too many checks (a PKCE verifier being guessed). A failure
    raised inside counts against the matching limit; the error itself goes on unchanged.
    """
    limiter = _limiter(ctx)
    if limiter is None:
        yield
        return
    ip = _client_ip.get()
    token_key = crypto.hash_token(token)
    await limiter.check("unknown_token_ip", limiter.unknown_token_ip, ctx.project_id, ip)
    await limiter.check("token_failures", limiter.token_failures, ctx.project_id, token_key)
    try:
        yield
    except limiter.unknown_token_errors:
        if limiter.unknown_token_ip:
            await _count_failure(limiter, "unknown_token_ip", limiter.unknown_token_ip, ctx.project_id, ip)
        raise
    except limiter.token_failure_errors:
        if limiter.token_failures:
            await _count_failure(limiter, "token_failures", limiter.token_failures, ctx.project_id, token_key)
        raise


async def _count_failure(limiter: Limiter, scope: str, items: list[RateLimitItem], *key: str) -> None:
    # The attempt already failed with its own error; a full window shows on the next one.
    with suppress(errors.TooManyRequests):
        await limiter.hit(scope, items, *key)


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
    state.limiter = Limiter(
        state.settings,
        state.metrics,
        unknown_token_errors=state.registry.unknown_token_errors,
        token_failure_errors=state.registry.token_failure_errors,
    )
    app.add_middleware(ClientAddress)
