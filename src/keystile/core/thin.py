"""Thin JSON endpoints: a hot route as a plain Starlette route, without FastAPI's
dependency solving and request-body machinery, behaving exactly like the FastAPI route
`async def handler(body: Model, ctx: Ctx)` it replaces:

1. the body is read and, when its content type is JSON, decoded; malformed JSON is a 400
   `bad_request` before the credentials are looked at (FastAPI reads the body first too);
   a body sent without a JSON content type is validated as bytes and so refused;
2. the project is authenticated and the request's `Context` built and closed by what
   `get_context` runs (`open_context`, `close_context`): same 401s, same per-project rate
   limit, and the request's transaction commits before the response is sent;
3. the body is validated by the same pydantic model (a `RequestModel`, core/schemas.py);
   failures become the `RequestValidationError` FastAPI would raise (locations under
   `body`), which the app's handler renders as 400 `bad_request` naming the field. A body
   that is not UTF-8 is the same 400 as on a FastAPI route (app.py names the field).

The route is a `ThinRoute`: logs and metrics label it with its path template, as they do
FastAPI's routes.

Use it for endpoints whose cost is mostly the framework (sessions.authenticate), not as
a general replacement for FastAPI routes. FastAPI does not see thin routes; the OpenAPI
document lists them from their `ThinRoute` (path, method, body model; dev/docs.py).

Thin routes are collected in a plain list that the app puts at the head of its own route
table (an area's `hot_routes`, collected by keystile/areas.py), not in an `APIRouter`:
matching a path through FastAPI's included routers cost ~40 µs per request, the same as
the rest of the framework.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from keystile.core.context import Context, close_context, open_context

Body = TypeVar("Body", bound=BaseModel)
Handler = Callable[[Body, Context], Awaitable[Response]]

_MISSING = object()


def _is_json(content_type: str) -> bool:
    """`application/json` or `application/…+json`, parameters ignored (as FastAPI reads it)."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type.count("/") != 1:
        return False
    main, sub = media_type.split("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


async def _body(request: Request) -> bytes:
    """The body, straight from the ASGI receive channel: `Request.body()` without its
    stream bookkeeping, which cost a hot request 3 %."""
    chunks = []
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_json(request: Request) -> Any:
    """The decoded JSON body; the raw bytes when the content type is not JSON; `_MISSING`
    when there is no body."""
    try:
        raw = await _body(request)
        if not raw:
            return _MISSING
        content_type = request.headers.get("content-type")
        if not content_type or not _is_json(content_type):
            return raw
        return decode_json(raw)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        ) from exc
    except Exception as exc:  # undecodable bytes, a body cut short: FastAPI's answer
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def decode_json(raw: bytes) -> Any:
    """What FastAPI's `json.loads` makes of a body, by orjson where they agree.

    orjson is 2.5× faster and agrees on every body it accepts, except that it reads an
    integer past 64 bits as a float. So a body orjson refuses (a BOM, NaN, lone
    surrogates), or one it reads with a float in it, goes to the json module. Looking for
    the floats in the decoded body costs under a microsecond; searching the raw bytes for
    a run of 20 digits, as before, cost ~50 µs for a session JWT's 1.6 kB."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
    return json.loads(raw) if _has_float(value) else value


def _has_float(value: Any) -> bool:
    pending = [value]  # a loop, not recursion: JSON may nest deeper than Python recurses
    while pending:
        item = pending.pop()
        kind = item.__class__
        if kind is float:
            return True
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
    return False


def validate(model: type[Body], data: Any) -> Body:
    """The model from decoded JSON, with FastAPI's errors (locations under `body`)."""
    if data is _MISSING:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return model.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        ) from None


def thin_post(routes: list[BaseRoute], path: str, model: type[Body]) -> Callable[[Handler[Body]], Handler[Body]]:
    """Add `async def handler(body: Model, ctx: Context) -> Response` to `routes` as a thin POST route."""

    def register(handler: Handler[Body]) -> Handler[Body]:
        async def endpoint(request: Request) -> Response:
            data = await read_json(request)
            ctx = await open_context(request)
            try:
                response = await handler(validate(model, data), ctx)
            except BaseException as exc:
                await close_context(ctx, exc)
                raise
            await close_context(ctx, None)
            return response

        routes.append(ThinRoute(path, endpoint, model, methods=["POST"], name=handler.__name__))
        return handler

    return register


class ThinRoute(Route):
    """A thin route: its request model for whoever reads the route table (the hostile-input
    tests), and itself as `scope["route"]` for the logs and metrics, which FastAPI's router
    sets for its own routes only."""

    def __init__(self, path: str, endpoint: Callable[..., Any], body_model: type[BaseModel], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.body_model = body_model

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await super().handle(scope, receive, send)
