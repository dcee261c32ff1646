"""The consumer password endpoints (PY `consumer/api/passwords.py`, `passwords_email.py`,
`passwords_existing_password.py`, `passwords_session.py`; `users.delete_password`)."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.passwords import service
from keystile.passwords.schemas_consumer import StrengthCheckRequest

router = APIRouter()


@router.post("/v1/passwords/strength_check")
async def strength_check(body: StrengthCheckRequest, ctx: Ctx) -> JSON:
    verdict = await service.evaluate(ctx, body.password, email=body.email)
    return ok(ctx.request_id, **verdict.consumer_json())
