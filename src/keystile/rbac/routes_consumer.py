"""GET /v1/rbac/policy: the consumer product's RBAC policy (PY `consumer/api/rbac.py`).

The Python SDK reads it to authorize a User's session JWT locally
(`sessions.authenticate_jwt` with `authorization_check`); see rbac/consumer.py for what it holds.
"""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core import policy_store
from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.rbac.consumer import consumer_policy

router = APIRouter()


@router.get("/v1/rbac/policy")
async def get_policy(ctx: Ctx) -> JSON:
    declared = await policy_store.declared(ctx.conn, ctx.project_id)
    return ok(ctx.request_id, policy=consumer_policy(declared).wire())
