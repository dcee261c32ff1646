"""The consumer password endpoints (PY `consumer/api/passwords.py`, `passwords_email.py`,
`passwords_existing_password.py`, `passwords_session.py`; `users.delete_password`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, committing, ok
from keystile.passwords import errors, service
from keystile.passwords import service_consumer as consumer
from keystile.passwords.schemas_consumer import (
    AuthenticateRequest,
    CreateRequest,
    MigrateRequest,
    ResetByEmailRequest,
    ResetByExistingPasswordRequest,
    ResetBySessionRequest,
    ResetStartRequest,
    StrengthCheckRequest,
)
from keystile.sessions import service as sessions
from keystile.users import service as users

router = APIRouter()


async def _answer(ctx: Ctx, done: consumer.Authenticated, **extra: Any) -> JSON:
    return ok(
        ctx.request_id,
        user_id=done.user.user_id,
        **extra,
        session_token=done.session_token,
        session_jwt=done.session_jwt,
        user=await users.user_body(ctx, done.user),
        session=sessions.user_session_json(done.session, []) if done.session else None,
        user_device=None,
    )


@router.post("/v1/passwords")
async def create(body: CreateRequest, ctx: Ctx) -> JSON:
    done = await consumer.create(
        ctx,
        body.email,
        body.password,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        name=body.name,
    )
    return await _answer(ctx, done, email_id=done.email_id)


@router.post("/v1/passwords/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    # reset_password is answered, not raised: a password found breached stays marked.
    return await committing(ctx.request_id, _authenticate(body, ctx), errors.ResetPassword)


async def _authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    done = await consumer.authenticate(
        ctx,
        body.email,
        body.password,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return await _answer(ctx, done)


@router.post("/v1/passwords/strength_check")
async def strength_check(body: StrengthCheckRequest, ctx: Ctx) -> JSON:
    verdict = await service.evaluate(ctx, body.password, email=body.email)
    return ok(ctx.request_id, **verdict.consumer_json())


@router.post("/v1/passwords/migrate")
async def migrate(body: MigrateRequest, ctx: Ctx) -> JSON:
    done = await consumer.migrate(
        ctx,
        body.email,
        body.hash,
        body.hash_type,
        body.hash_config(),
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        set_email_verified=bool(body.set_email_verified),
        name=body.name,
        phone_number=body.phone_number,
        set_phone_number_verified=bool(body.set_phone_number_verified),
        external_id=body.external_id,
    )
    return ok(
        ctx.request_id,
        user_id=done.user.user_id,
        email_id=done.email_id,
        user_created=done.created,
        user=await users.user_body(ctx, done.user),
    )


@router.post("/v1/passwords/email/reset/start")
async def email_reset_start(body: ResetStartRequest, ctx: Ctx) -> JSON:
    user_id, email_id = await consumer.reset_start(
        ctx,
        body.email,
        redirect_url=body.reset_password_redirect_url,
        expiration_minutes=body.reset_password_expiration_minutes,
        code_challenge=body.code_challenge,
    )
    return ok(ctx.request_id, user_id=user_id, email_id=email_id)


@router.post("/v1/passwords/email/reset")
async def email_reset(body: ResetByEmailRequest, ctx: Ctx) -> JSON:
    done = await consumer.reset_by_email(
        ctx,
        body.token,
        body.password,
        code_verifier=body.code_verifier,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return await _answer(ctx, done)


@router.post("/v1/passwords/existing_password/reset")
async def existing_password_reset(body: ResetByExistingPasswordRequest, ctx: Ctx) -> JSON:
    done = await consumer.reset_by_existing_password(
        ctx,
        body.email,
        body.existing_password,
        body.new_password,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return await _answer(ctx, done)


@router.post("/v1/passwords/session/reset")
async def session_reset(body: ResetBySessionRequest, ctx: Ctx) -> JSON:
    done = await consumer.reset_by_session(
        ctx,
        body.password,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return await _answer(ctx, done)


@router.delete("/v1/users/passwords/{password_id}")
async def delete_password(password_id: str, ctx: Ctx) -> JSON:
    user = await consumer.delete_password(ctx, password_id)
    return ok(ctx.request_id, user_id=user.user_id, user=await users.user_body(ctx, user))
