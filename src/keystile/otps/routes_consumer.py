"""POST /v1/otps/sms|whatsapp|email/send and /login_or_create, and /v1/otps/authenticate
(PY `consumer/api/otp_sms.py`, `otp_whatsapp.py`, `otp_email.py`, `otp.py`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, committing, ok
from keystile.otps import errors
from keystile.otps import service_consumer as service
from keystile.otps.schemas_consumer import (
    AuthenticateRequest,
    LoginOrCreateEmailRequest,
    LoginOrCreateTextRequest,
    SendEmailRequest,
    SendTextRequest,
)
from keystile.sessions import service as sessions
from keystile.users import service as users

router = APIRouter()


async def _send_text(channel: Literal["sms", "whatsapp"], body: SendTextRequest, ctx: Ctx) -> JSON:
    sent = await service.send_text(
        ctx,
        channel,
        body.phone_number,
        expiration_minutes=body.expiration_minutes,
        user_id=body.user_id,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return ok(ctx.request_id, user_id=sent.user_id, phone_id=sent.method_id)


async def _login_or_create_text(channel: Literal["sms", "whatsapp"], body: LoginOrCreateTextRequest, ctx: Ctx) -> JSON:
    sent = await service.login_or_create_text(
        ctx,
        channel,
        body.phone_number,
        expiration_minutes=body.expiration_minutes,
        pending=bool(body.create_user_as_pending),
    )
    return ok(ctx.request_id, user_id=sent.user_id, phone_id=sent.method_id, user_created=sent.user_created)


@router.post("/v1/otps/sms/send")
async def sms_send(body: SendTextRequest, ctx: Ctx) -> JSON:
    return await _send_text("sms", body, ctx)


@router.post("/v1/otps/sms/login_or_create")
async def sms_login_or_create(body: LoginOrCreateTextRequest, ctx: Ctx) -> JSON:
    return await _login_or_create_text("sms", body, ctx)


@router.post("/v1/otps/whatsapp/send")
async def whatsapp_send(body: SendTextRequest, ctx: Ctx) -> JSON:
    return await _send_text("whatsapp", body, ctx)


@router.post("/v1/otps/whatsapp/login_or_create")
async def whatsapp_login_or_create(body: LoginOrCreateTextRequest, ctx: Ctx) -> JSON:
    return await _login_or_create_text("whatsapp", body, ctx)


@router.post("/v1/otps/email/send")
async def email_send(body: SendEmailRequest, ctx: Ctx) -> JSON:
    sent = await service.send_email(
        ctx,
        body.email,
        expiration_minutes=body.expiration_minutes,
        user_id=body.user_id,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return ok(ctx.request_id, user_id=sent.user_id, email_id=sent.method_id)


@router.post("/v1/otps/email/login_or_create")
async def email_login_or_create(body: LoginOrCreateEmailRequest, ctx: Ctx) -> JSON:
    sent = await service.login_or_create_email(
        ctx, body.email, expiration_minutes=body.expiration_minutes, pending=bool(body.create_user_as_pending)
    )
    return ok(ctx.request_id, user_id=sent.user_id, email_id=sent.method_id, user_created=sent.user_created)


@router.post("/v1/otps/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    # A wrong code is answered, not raised, so the try counted against the code commits.
    return await committing(ctx.request_id, _authenticate(body, ctx), errors.OtpCodeNotFound)


async def _authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    done = await service.authenticate(
        ctx,
        body.method_id,
        body.code,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(
        ctx.request_id,
        user_id=done.user.user_id,
        method_id=done.method_id,
        session_token=done.session_token,
        session_jwt=done.session_jwt,
        user=await users.user_body(ctx, done.user),
        reset_sessions=False,
        session=sessions.user_session_json(done.session, []) if done.session else None,
        user_device=None,
    )
