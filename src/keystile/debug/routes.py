"""GET /v1/debug/whoami (PY `consumer/api/debug.py`, `consumer/models/debug.py` WhoamiResponse).

The project comes from the request's Basic credentials, already authenticated by `Ctx`, so
the answer needs no database read: a wrong secret is `unauthorized_credentials` before this runs.
"""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok

router = APIRouter()


@router.get("/v1/debug/whoami")
async def whoami(ctx: Ctx) -> JSON:
    return ok(ctx.request_id, project_id=ctx.project_id, name=ctx.project.name)
