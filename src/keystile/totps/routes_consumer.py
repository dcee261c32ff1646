"""POST /v1/totps, /v1/totps/authenticate, /v1/totps/recovery_codes, /v1/totps/recover and
DELETE /v1/users/totps/{totp_id} (PY `consumer/api/totps.py`, `users.py` `delete_totp`).
The delete is a Users endpoint served here: the users area sits below TOTP."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Context, Ctx
from keystile.core.responses import JSON, ok
from keystile.sessions import service as sessions
from keystile.totps import service_consumer as service
from keystile.totps.schemas import (
    ConsumerAuthenticateRequest,
    ConsumerCreateRequest,
    ConsumerRecoverRequest,
    ConsumerRecoveryCodesRequest,
)
from keystile.users import service as users

router = APIRouter()


async def _authenticated(ctx: Context, done: service.Authenticated) -> JSON:
    return ok(
        ctx.request_id,
        user_id=done.user.user_id,
        totp_id=done.totp_id,
        session_token=done.session_token,
        session_jwt=done.session_jwt,
        user=await users.user_body(ctx, done.user),
        session=sessions.user_session_json(done.session, []) if done.session else None,
        user_device=None,
    )


@router.post("/v1/totps")
async def create(body: ConsumerCreateRequest, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.create(ctx, body.user_id, expiration_minutes=body.expiration_minutes))


@router.post("/v1/totps/authenticate")
async def authenticate(body: ConsumerAuthenticateRequest, ctx: Ctx) -> JSON:
    done = await service.authenticate(
        ctx,
        body.user_id,
        body.totp_code,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return await _authenticated(ctx, done)


@router.post("/v1/totps/recovery_codes")
async def recovery_codes(body: ConsumerRecoveryCodesRequest, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.recovery_codes_of(ctx, body.user_id))


@router.post("/v1/totps/recover")
async def recover(body: ConsumerRecoverRequest, ctx: Ctx) -> JSON:
    done = await service.recover(
        ctx,
        body.user_id,
        body.recovery_code,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return await _authenticated(ctx, done)


@router.delete("/v1/users/totps/{totp_id}")
async def delete_totp(totp_id: str, ctx: Ctx) -> JSON:
    user = await service.delete(ctx, totp_id)
    return ok(ctx.request_id, user_id=user.user_id, user=await users.user_body(ctx, user))
