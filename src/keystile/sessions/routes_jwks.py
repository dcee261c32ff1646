"""JWKS, served without authentication: the SDKs' local JWT verifiers fetch it bare."""

from __future__ import annotations

from fastapi import APIRouter, Request

from keystile import errors
from keystile.core import ids
from keystile.core.responses import JSON

router = APIRouter()

# Apps cache the key set. After a rotation the new key signs at once (SDK verifiers refetch
# on an unknown kid) and the old one stays published until its last JWT has expired.
CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=60"


async def _jwks(request: Request, project_id: str) -> JSON:
    state = request.app.state.keystile
    async with state.transaction() as conn:
        keys = await state.keyring.jwks(conn, project_id, state.clock.now())
    if not keys:
        raise errors.ProjectNotFound(f"No project {project_id!r}: the JWKS path ends with your project_id.")
    body = {"keys": keys, "status_code": 200, "request_id": request.state.request_id or ids.request_id()}
    return JSON(body, headers={"Cache-Control": CACHE_CONTROL})


@router.get("/v1/b2b/sessions/jwks/{project_id}")
async def get_b2b_jwks(request: Request, project_id: str) -> JSON:
    return await _jwks(request, project_id)


@router.get("/v1/sessions/jwks/{project_id}")
async def get_consumer_jwks(request: Request, project_id: str) -> JSON:
    return await _jwks(request, project_id)
