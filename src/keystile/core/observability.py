"""Readiness, Prometheus metrics and structured JSON logs.

- `/readyz`: 200 when the database answers and its schema is not behind this keystile
  (a schema *ahead* — a newer keystile migrated it during a rolling upgrade — is ready);
  503 otherwise, with the reason. `/healthz` (app.py) only says the process is up.
- `/metrics`: Prometheus text. `keystile_http_requests_total` and
  `keystile_http_request_duration_seconds` per method, route template and status;
  `keystile_emails{status="queued|sent|failed"}` and `keystile_texts{channel="sms|whatsapp",
  status=…}` counted in the outbox table (so the numbers are the same whichever process or
  machine is scraped); and whatever other code
  counts with `state.metrics.inc(name, **labels)` (the rate limiter's
  `keystile_rate_limit_hits_total`).
  With several workers (`keystile serve --workers N`), prometheus_client's multiprocess
  mode aggregates the processes: `serve` points PROMETHEUS_MULTIPROC_DIR at a fresh
  directory before the workers start, so any worker answering `/metrics` reports the sum.
- Logs: one JSON object per line on stderr; one line per request (method, route
  template, status, duration, request id) and one per error, each with the request id.
  Paths and query strings are never logged (they can carry tokens), and every message
  goes through `redact` as a last line of defence against a token, secret, password or
  magic link reaching the logs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The `_created` series double every counter for little use.
disable_created_metrics()

log = logging.getLogger("keystile")
access_log = logging.getLogger("keystile.access")

request_id_var: ContextVar[str | None] = ContextVar("keystile_request_id", default=None)

# Probes and scrapes come every few seconds; their lines would drown the rest.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
READY_TIMEOUT_SECONDS = 5.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# --- logs -------------------------------------------------------------------------------

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Magic links and any URL parameter that carries a credential.
    (
        re.compile(r"([?&#][\w.-]*(?:token|secret|password|code|verifier)[\w.-]*=)[^&\s\"'<>]+", re.IGNORECASE),
        r"\1[redacted]",
    ),
    # Project secrets, HTTP credentials, JWTs.
    (re.compile(r"\bsecret-(test|live)-[\w-]+"), r"secret-\1-[redacted]"),
    (re.compile(r"\b(Basic|Bearer)\s+[\w+/=.-]+", re.IGNORECASE), r"\1 [redacted]"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), "[redacted-jwt]"),
    # "password": "...", 'session_token': '...', token=... in reprs and JSON bodies.
    (
        re.compile(
            r"""(["']?[\w-]*(?:password|secret|token|master_key)[\w-]*["']?\s*[:=]\s*)(["'])(?:(?!\2).)*\2""",
            re.IGNORECASE,
        ),
        r"\1\2[redacted]\2",
    ),
)


def redact(text: str) -> str:
    """Mask what looks like a credential. The logs are built not to contain any; this is
    the net under that."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _stamp_request_id(factory: Any) -> Any:
    """Records carry the request id from the moment they are made, whoever formats them later."""
    if getattr(factory, "keystile", False):
        return factory

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        request_id = request_id_var.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        return record

    make.keystile = True  # type: ignore[attr-defined]
    return make


logging.setLogRecordFactory(_stamp_request_id(logging.getLogRecordFactory()))
# keystile's log lines carry no thread or process names; not looking them up makes every
# record (one access line per request) a third cheaper (the logging docs' "Optimization").
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


class AccessRecord(logging.LogRecord):
    """The per-request access line. Every field is known to be safe — the method, the route
    *template* (never the path), the status, the duration and keystile's own request id —
    so the formatter writes it without running `redact`, and the middleware hands it to
    the logger's handlers directly (no caller lookup, no record factory)."""

    def __init__(
        self, level: int, method: str, route: str, status: int, duration_ms: float, request_id: str | None
    ) -> None:
        super().__init__(access_log.name, level, "", 0, "%s %s %d", (method, route, status), None)
        self.method = method
        self.route = route
        self.status = status
        self.duration_ms = duration_ms
        if request_id:
            self.request_id = request_id


_second: tuple[int, str] = (0, "1970-01-01T00:00:00")


def _timestamp(created: float) -> str:
    """`2026-12-01T15:31:39.701Z`; the date and time of the second are formatted once per
    second (as logging's own Formatter does), not once per line."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, the record's extras,
    and for errors `error_type` and `error` (the traceback). Access lines (`AccessRecord`)
    take a short path: their fields are structured and safe, so no redaction."""

    def format(self, record: logging.LogRecord) -> str:
        if type(record) is AccessRecord:
            return self._access(record)
        body: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            body["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in body:
                body[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            body["error_type"] = record.exc_info[0].__name__
            body["error"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(body, default=str).decode()

    @staticmethod
    def _access(record: AccessRecord) -> str:
        body: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": f"{record.method} {record.route} {record.status}",
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            body["request_id"] = request_id
        body["method"] = record.method
        body["route"] = record.route
        body["status"] = record.status
        body["duration_ms"] = record.duration_ms
        return orjson.dumps(body).decode()


class CoalescingStreamHandler(logging.StreamHandler):
    """A StreamHandler for the access lines: inside an event loop, lines are written out
    together at most FLUSH_SECONDS after the first of them (one write for many requests,
    as nginx's `access_log … flush=`), instead of a write and a flush per request, which
    cost a hot request ~10 % of its throughput. Warnings and errors, lines logged outside
    an event loop, `flush()` and `flush_access_logs()` write at once."""

    FLUSH_SECONDS = 0.1

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._pending.append(self.format(record) + self.terminator)
        except Exception:  # noqa: BLE001 - logging's own contract: report, never raise
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a thread, the CLI: no loop to flush later from
            self.flush()
            return
        if self._timer is None or self._timer_loop is not loop:  # none pending in this loop
            self._timer_loop = loop
            self._timer = loop.call_later(self.FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        self.acquire()
        try:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._pending and self.stream is not None:
                lines, self._pending = "".join(self._pending), []
                self.stream.write(lines)
            super().flush()
        finally:
            self.release()


def flush_access_logs() -> None:
    """Write out buffered access lines now (a worker's shutdown: spawned workers leave by
    `os._exit`, which skips logging's own flush at exit)."""
    for handler in access_log.handlers:
        handler.flush()


def logging_config(level: str = "info") -> dict[str, Any]:
    """The `logging.config.dictConfig` for `keystile serve` (uvicorn applies it in every worker)."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JSONFormatter"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
            "access": {"()": f"{__name__}.CoalescingStreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "keystile": {"handlers": ["stderr"], "level": level, "propagate": False},
            "keystile.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


# --- metrics ----------------------------------------------------------------------------


class Metrics:
    """The process's metrics (`state.metrics`). `inc(name, **labels)` counts anything:
    the first call fixes a name's label names; a later call with other labels is mended
    (missing ones empty, extra ones dropped) rather than failing the request."""

    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._counters: dict[str, tuple[Counter, tuple[str, ...]]] = {}
        self.requests = Counter(
            "keystile_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "keystile_http_request_duration_seconds",
            "HTTP request latency by method, route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # (method, route, status) → the two labelled series: `labels()` takes a lock and
        # builds a key on every call, and a request needs both series.
        self._request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def inc(self, name: str, amount: float = 1, **labels: Any) -> None:
        name = name.removeprefix("keystile_").removesuffix("_total")
        with self._lock:
            known = self._counters.get(name)
            if known is None:
                names = tuple(sorted(labels))
                counter = Counter(f"keystile_{name}", f"{name.replace('_', ' ')}.", names, registry=self.registry)
                known = self._counters[name] = (counter, names)
        counter, names = known
        if names:
            counter.labels(*(str(labels.get(n, "")) for n in names)).inc(amount)
        else:
            counter.inc(amount)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        series = self._request_series.get(key)
        if series is None:
            labels = (method, route, str(status))
            series = self._request_series[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
        series[0].inc()
        series[1].observe(seconds)

    def render(self, extra: Iterable[Metric] = ()) -> bytes:
        source: Any = self.registry
        if self.multiprocess_dir:
            from prometheus_client.multiprocess import MultiProcessCollector

            source = CollectorRegistry()
            MultiProcessCollector(source, path=self.multiprocess_dir)
        extra = list(extra)

        class _Both:
            def collect(self) -> Iterator[Metric]:
                yield from source.collect()
                yield from extra

        return generate_latest(_Both())


async def _email_families(state: Any) -> list[Metric]:
    """Emails, and texts by channel, by outbox status, read from the database: the same
    answer from every process."""
    from sqlalchemy import func, select

    from keystile.models.outbox import outbox

    names = {"pending": "queued", "sent": "sent", "failed": "failed", "inbox": "inbox"}
    counts: dict[str, dict[str, int]] = {
        channel: {"queued": 0, "sent": 0, "failed": 0} for channel in ("email", "sms", "whatsapp")
    }
    async with asyncio.timeout(READY_TIMEOUT_SECONDS), state.transaction() as conn:
        rows = await conn.execute(
            select(outbox.c.channel, outbox.c.status, func.count()).group_by(outbox.c.channel, outbox.c.status)
        )
        for channel, status, count in rows:
            key = names.get(status, status)
            by_status = counts.setdefault(channel, {})
            by_status[key] = by_status.get(key, 0) + count
    emails = GaugeMetricFamily(
        "keystile_emails", "Emails in the outbox by status (queued, sent, failed).", labels=["status"]
    )
    for status, count in sorted(counts.pop("email").items()):
        emails.add_metric([status], count)
    texts = GaugeMetricFamily(
        "keystile_texts", "SMS and WhatsApp messages in the outbox by channel and status.", labels=["channel", "status"]
    )
    for channel, by_status in sorted(counts.items()):
        for status, count in sorted(by_status.items()):
            texts.add_metric([channel, status], count)
    return [emails, texts]


# --- readiness --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _revisions() -> tuple[str | None, frozenset[str]]:
    from alembic.script import ScriptDirectory

    from keystile.core import migrate

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


async def readiness(state: Any) -> tuple[bool, dict[str, Any]]:
    """(ready, body): the database answers and its schema is not behind this keystile."""
    from alembic.runtime.migration import MigrationContext

    head, known = _revisions()
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), state.transaction() as conn:
            current = await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "not ready", never a 500
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        return False, {"status": "unavailable", "database": "unreachable", "error_type": type(exc).__name__}
    if current == head:
        return True, {"status": "ready", "database": "ok", "schema": current}
    if current is None or current in known:
        return False, {
            "status": "unavailable",
            "database": "ok",
            "schema": "behind",
            "current": current,
            "required": head,
            "message": "Run `keystile migrate` (same KEYSTILE_DATABASE_URL).",
        }
    # A revision this keystile does not know: a newer keystile migrated (rolling upgrade).
    return True, {"status": "ready", "database": "ok", "schema": "ahead", "current": current}


# --- the middleware and the routes ------------------------------------------------------


class Observe:
    """Pure ASGI middleware: request id into the logs, one access line and the request
    metrics per request. Runs inside RequestGuard (which assigns the request id)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, router: Any = None) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router
        self._templates: dict[Any, str] = {}

    def route_template(self, scope: Scope) -> str:
        """The matched route's path template; `unmatched` when no route matched.

        FastAPI's router sets `scope["route"]` for its own routes, and thin routes set it
        themselves (core/thin.py); a plain Starlette route (/docs, /openapi.json) only
        leaves its endpoint in the scope, looked up in the route table."""
        route = scope.get("route")
        if route is not None:
            return getattr(route, "path", None) or "unmatched"
        endpoint = scope.get("endpoint")
        if endpoint is None or self.router is None:
            return "unmatched"
        template = self._templates.get(endpoint)
        if template is None:
            from fastapi.routing import iter_route_contexts

            self._templates = {
                context.endpoint: context.path for context in iter_route_contexts(self.router.routes) if context.path
            }
            template = self._templates.get(endpoint, "unmatched")
        return template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        # Not reset afterwards on purpose: the 500 handler logs outside this middleware,
        # and every request runs in its own task, so the value cannot leak to another.
        request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except BaseException:
            status = 500
            raise
        finally:
            seconds = time.perf_counter() - started
            route = self.route_template(scope)
            method = scope.get("method", "")
            self.metrics.observe_request(method, route, status, seconds)
            level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
            if access_log.isEnabledFor(level):
                access_log.handle(AccessRecord(level, method, route, status, round(seconds * 1000, 2), request_id))


def install(app: Any, state: Any) -> None:
    """Metrics on `state.metrics`, the middleware, and `/readyz` and `/metrics`."""
    state.metrics = state.metrics or Metrics()
    metrics: Metrics = state.metrics

    async def readyz(request: Request) -> Response:
        ready, body = await readiness(state)
        return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")

    async def metrics_endpoint(request: Request) -> Response:
        try:
            extra = await _email_families(state)
        except Exception as exc:  # noqa: BLE001 - the process metrics still matter when the database does not answer
            log.warning("metrics: outbox counts unavailable (%s)", type(exc).__name__)
            extra = []
        return Response(metrics.render(extra), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(Observe, metrics=metrics, router=app.router)
