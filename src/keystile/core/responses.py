"""JSON responses encoded with orjson; every body carries `status_code` and `request_id`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.responses import Response

from keystile import errors


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(request_id: str, **fields: Any) -> JSON:
    """A Stytch success body: the fields plus `status_code: 200` and the request id."""
    fields["status_code"] = 200
    fields["request_id"] = request_id
    return JSON(fields)


# Paths whose clients are not Stytch's SDKs and read errors of another shape (the SCIM
# service, RFC 7644 §3.12): path prefix → what renders an error there. Declared by the areas
# (`Area.error_bodies`) and installed by `create_app`.
ErrorBody = Callable[[str, errors.StytchError], Response]
_error_bodies: dict[str, ErrorBody] = {}


def install_error_bodies(bodies: Mapping[str, ErrorBody]) -> None:
    _error_bodies.update(bodies)


def error_response_at(path: str, request_id: str, exc: errors.StytchError) -> Response:
    """The error body for a request to `path`: Stytch's, or the one an area declared there."""
    for prefix, render in _error_bodies.items():
        if path.startswith(prefix):
            return render(request_id, exc)
    return error_response(request_id, exc)


def error_response(request_id: str, exc: errors.StytchError) -> JSON:
    """A Stytch error body, with the error's status."""
    return JSON(
        {
            "status_code": exc.status_code,
            "request_id": request_id,
            "error_type": exc.error_type,
            "error_message": exc.message,
            "error_url": exc.error_url,
        },
        status_code=exc.status_code,
    )


async def committing(request_id: str, answer: Awaitable[JSON], *kinds: type[errors.StytchError]) -> JSON:
    """`answer`, or the error body of one of `kinds` raised while it ran, answered rather than
    raised so that the request's transaction commits what it wrote all the same (any other
    error still rolls it back): for a failure that must leave a trace, such as a wrong
    passcode counted against its code (core/passcodes.py)."""
    try:
        return await answer
    except kinds as exc:
        return error_response(request_id, exc)
