"""JSON responses encoded with orjson; every body carries `status_code` and `request_id`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(request_id: str, **fields: Any) -> JSON:
    """A Stytch success body: the fields plus `status_code: 200` and the request id."""
    fields["status_code"] = 200
    fields["request_id"] = request_id
    return JSON(fields)
