"""The ASGI application: routers, the one error handler, start-up and shut-down."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keystile import errors
from keystile.config import ConfigFileError, Settings, load_file_config
from keystile.core import ids, migrate, observability, ratelimit, stytch_api
from keystile.core.clock import Clock
from keystile.core.outbox import Deliverer
from keystile.core.redirect_urls import RedirectType
from keystile.core.responses import JSON, error_response_at, install_error_bodies
from keystile.core.schemas import params_need_a_look, printable, undecodable_body, unsafe_path, unsafe_query
from keystile.core.state import AppState, make_state

log = logging.getLogger("keystile")


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or ids.request_id()


# What pydantic says of a body that is not a JSON object (an array, a string, a number, null).
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "model_type", "dict_type"})


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = tuple(err.get("loc", ()))
        if where and where[0] in ("body", "query", "path", "header", "cookie"):
            where = where[1:]  # FastAPI's own prefix; a field may be named `query` too
        loc = ".".join(printable(p) for p in where)
        if err.get("type") == "json_invalid":
            return "The request body is not valid JSON."
        if not loc and err.get("type") in _NOT_AN_OBJECT:
            return "The request body must be a JSON object."
        if err.get("type") == "missing":
            parts.append(f"{loc} is required")
        else:
            parts.append(f"{loc or 'body'}: {err.get('msg')}")
    return "; ".join(parts) + "."


class RequestGuard:
    """Pure ASGI middleware: a request id for every request, and a cap on body size."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ids.request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await error_response_at(scope["path"], request_id, errors.RequestTooLarge())(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise errors.RequestTooLarge()
            return message

        await self.app(scope, limited_receive, send)


class SafeParams:
    """Pure ASGI middleware, the one check of path and query values: a NUL, bytes that are
    not UTF-8 (which the server would read as U+FFFD), or a value past `MAX_PARAM`
    characters is a 400 `bad_request` naming the parameter, for every route (thin and
    FastAPI alike) before it runs.

    Innermost, so the logs and metrics see the answer; the route is matched (to name the
    parameter and label the request) only when the cheap look finds something."""

    def __init__(self, app: ASGIApp, router: Any) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not params_need_a_look(scope["path"], scope["query_string"]):
            await self.app(scope, receive, send)
            return
        route, path_params = self._match(scope)
        found = unsafe_query(scope["query_string"]) or unsafe_path(scope["path"], scope.get("raw_path"), path_params)
        if found is None:
            await self.app(scope, receive, send)
            return
        if route is not None:
            scope["route"] = route
        name, reason = found
        request_id = scope.get("state", {}).get("request_id") or ids.request_id()
        await error_response_at(scope["path"], request_id, errors.BadRequest(f"{printable(name)}: {reason}."))(
            scope, receive, send
        )

    def _match(self, scope: Scope) -> tuple[Any, dict[str, Any] | None]:
        partial: tuple[Any, dict[str, Any] | None] = (None, None)
        for context in iter_route_contexts(self.router.routes):
            route = context.original_route
            match, child = route.matches(scope)
            if match is Match.FULL:
                return route, child.get("path_params")
            if match is Match.PARTIAL and partial[0] is None:
                partial = (route, child.get("path_params"))
        return partial


# Young collections every 10,000 net allocations instead of 700 (see `settle_heap`).
GC_YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once started, keep the cyclic garbage collector off what lives as long as the process.

    `gc.freeze()` moves every object alive now (modules, routes, compiled statements:
    ~120,000) out of the collector's generations, so a full collection no longer walks
    them: 150–170 ms per full collection before, 11 ms after, measured in a worker under
    load — a pause every request in flight waits for. A higher young-generation threshold
    makes the objects of requests in flight (tens of them on PostgreSQL, waiting for the
    database) scanned far less often: ~900 young collections in a 25 s run at 700, 2 at
    10,000. Memory held in garbage cycles between collections stays a few megabytes.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, new_key: Callable[[], RSAPrivateKey] | None = None
) -> FastAPI:
    """The keystile app. `clock` and `new_key` (the source of signing keys, core/keys.py)
    are for tests; a server gets the real clock and a fresh RSA key per project."""
    settings = settings or Settings()
    from keystile.areas import registry

    state = make_state(settings, clock, new_key, registry=registry())
    install_error_bodies(state.registry.error_bodies)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.prepared:
            await migrate.require_current(state.engine)
        else:
            await prepare(state)
        deliverer = None
        if settings.smtp_url or settings.sms_url:
            deliverer = Deliverer(
                state.db,
                state.clock,
                settings.smtp_url,
                sms_url=settings.sms_url.get_secret_value() if settings.sms_url else None,
                claim_timeout=settings.outbox_claim_timeout_seconds,
                max_attempts=settings.outbox_max_attempts,
                metrics=state.metrics,
            )
            state.wake_deliverer.append(deliverer.wake)
            app.state.deliverer = deliverer
            deliverer.start()
        settle_heap()
        try:
            yield
        finally:
            if deliverer:
                await deliverer.stop()
            await state.db.dispose()
            observability.flush_access_logs()

    app = FastAPI(
        title="keystile",
        version="0.1.0",
        lifespan=lifespan,
        # /docs and /openapi.json are keystile's own in dev mode (dev/docs.py): no CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    app.state.keystile = state

    @app.exception_handler(errors.StytchError)
    async def _stytch_error(request: Request, exc: errors.StytchError) -> Response:
        return error_response_at(request.url.path, _request_id(request), exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response_at(request.url.path, _request_id(request), errors.BadRequest(_describe_validation(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        unserved = stytch_api.find(request.method, request.url.path) if exc.status_code in (404, 405) else None
        if unserved is not None:  # no route of the app took it: Stytch has it, keystile not yet
            err: errors.StytchError = errors.EndpointNotImplemented(
                f"{request.method} {unserved.path} is part of Stytch's API ({unserved.area}: "
                f"{unserved.sdk_method}) but keystile does not serve it yet. "
                "`keystile endpoints` lists what it serves."
            )
        elif exc.status_code == 404:
            err = errors.RouteNotFound(f"No route {request.method} {request.url.path}.")
        elif exc.status_code == 405:
            err = errors.MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.")
        elif isinstance(exc.__cause__, UnicodeDecodeError):  # the JSON body (FastAPI's and core/thin.py's)
            err = errors.BadRequest(undecodable_body(exc.__cause__.object))
        elif isinstance(exc.__cause__, RecursionError):
            err = errors.BadRequest("The request body nests too deeply.")
        else:
            err = errors.BadRequest(str(exc.detail))
        return error_response_at(request.url.path, _request_id(request), err)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response_at(request.url.path, _request_id(request), errors.InternalServerError())

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSON:
        """Process up. Also the no-op endpoint the benchmarks measure the framework ceiling with."""
        return JSON({"status": "ok"})

    app.router.routes[0:0] = state.registry.hot_routes  # first: matched before anything else
    for router in state.registry.routers:
        app.include_router(router)
    if settings.inbox_enabled:
        from keystile.dev.routes import router as inbox_router

        app.include_router(inbox_router)
    if settings.dev:
        from keystile.dev import docs

        docs.install(app)

    # Last added runs first: request id, then logs and metrics, then rate limits, then
    # the check of path and query values.
    app.add_middleware(SafeParams, router=app.router)
    ratelimit.install(app, state)
    observability.install(app, state)
    app.add_middleware(RequestGuard, max_body=settings.max_body_bytes)
    return app


async def prepare(state: AppState) -> None:
    """Migrate (where allowed), check the schema, apply keystile.toml, seed an empty dev database."""
    settings = state.settings
    if settings.migrate_on_start:
        await asyncio.to_thread(migrate.upgrade, settings.db_url)
    await migrate.require_current(state.engine)
    from keystile.oauth import registrations as oauth_clients
    from keystile.projects import service as projects

    async with state.transaction() as conn:
        await state.keyring.check_master_key(conn)
        if settings.config_file:
            file_config = load_file_config(settings.config_file)
            changes = await projects.apply_file_config(conn, state.keyring, state.clock.now(), file_config)
            try:
                changes += await oauth_clients.apply_file_config(
                    conn, state.keyring.master, state.clock.now(), file_config
                )
            except ValueError as exc:
                raise ConfigFileError(f"{settings.config_file}: {exc}") from None
            log.info(
                "applied config file %s: %s", settings.config_file, "; ".join(changes) or "database already matched it"
            )
        if settings.dev and await projects.is_empty(conn):
            created = await projects.create_project(conn, state.keyring, state.clock.now(), name="Development")
            await projects.add_redirect_url(
                conn,
                state.clock.now(),
                created.project_id,
                "http://localhost:3000/authenticate",
                list(RedirectType),
                default=True,
            )
            _announce(settings, created)


def _announce(settings: Settings, created: Any) -> None:
    print(
        "\nkeystile created a test project on this empty database (dev mode; shown once):\n"
        f"  project_id    {created.project_id}\n"
        f"  secret        {created.secret}\n"
        f"  public_token  {created.public_token}\n"
        f"  base URL      {settings.base_url}\n"
        "  redirect URL  http://localhost:3000/authenticate (default for every type)\n",
        flush=True,
    )
