"""JSON responses encoded with orjson; every body carries `status_code` and `request_id`."""

from __future__ import annotations

from collections.abc import Awaitable
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
