"""The test clock over HTTP, for test suites that move time without the CLI:

GET  /dev/clock          the project's offset and time
POST /dev/clock/advance  {"duration": "61m"} or {"seconds": 3660}
POST /dev/clock/reset    back on the server's time

keystile's own routes, not Stytch's: the project's Basic credentials, refused for a live
project and on a server run with KEYSTILE_ENV=production. A move answers once every
process serving the database sees it (clock/service.py).
"""

from __future__ import annotations

from fastapi import APIRouter

from keystile import errors as stytch_errors
from keystile.clock import service
from keystile.clock.schemas import AdvanceRequest
from keystile.core.clock import rfc3339
from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok

router = APIRouter(tags=["keystile: test clock"])


def _response(ctx: Ctx, shown: service.Shown) -> JSON:
    return ok(ctx.request_id, project_id=shown.project_id, offset_seconds=shown.offset_seconds, now=rfc3339(shown.now))


@router.get("/dev/clock")
async def show(ctx: Ctx) -> JSON:
    """The project's clock: how far ahead of the server's it is, and its time now."""
    service.refuse_unless_movable(ctx)
    return _response(ctx, await service.show(ctx))


@router.post("/dev/clock/advance")
async def advance(body: AdvanceRequest, ctx: Ctx) -> JSON:
    """Move the project's clock ahead by `duration` ("61m", "1h30m") or `seconds`."""
    if (body.duration is None) == (body.seconds is None):
        raise stytch_errors.BadRequest("Give exactly one of duration and seconds.")
    seconds = body.seconds if body.seconds is not None else service.parse_duration(body.duration or "")
    return _response(ctx, await service.advance(ctx, seconds))


@router.post("/dev/clock/reset")
async def reset(ctx: Ctx) -> JSON:
    """Put the project's clock back on the server's time."""
    service.refuse_unless_movable(ctx)
    return _response(ctx, await service.reset(ctx))
