"""The consumer magic link API: /v1/magic_links… (PY `consumer/api/magic_links*.py`)."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.magic_links import service_consumer as service
from keystile.magic_links.schemas_consumer import (
    AuthenticateRequest,
    CreateRequest,
    InviteRequest,
    LoginOrCreateRequest,
    RevokeInviteRequest,
    SendRequest,
)
from keystile.sessions import service as sessions
from keystile.users import service as users

router = APIRouter()


@router.post("/v1/magic_links/email/login_or_create")
async def login_or_create(body: LoginOrCreateRequest, ctx: Ctx) -> JSON:
    user, email, created = await service.login_or_create(
        ctx,
        body.email,
        login_url=body.login_magic_link_url,
        signup_url=body.signup_magic_link_url,
        login_minutes=body.login_expiration_minutes,
        signup_minutes=body.signup_expiration_minutes,
        create_user_as_pending=body.create_user_as_pending,
        pkce_challenge=body.code_challenge,
        attributes=body.attributes,
    )
    return ok(ctx.request_id, user_id=user.user_id, email_id=email.email_id, user_created=created)


@router.post("/v1/magic_links/email/send")
async def send(body: SendRequest, ctx: Ctx) -> JSON:
    user_id, email_id = await service.send(
        ctx,
        body.email,
        login_url=body.login_magic_link_url,
        signup_url=body.signup_magic_link_url,
        login_minutes=body.login_expiration_minutes,
        signup_minutes=body.signup_expiration_minutes,
        pkce_challenge=body.code_challenge,
        attributes=body.attributes,
        user_id=body.user_id,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return ok(ctx.request_id, user_id=user_id, email_id=email_id)


@router.post("/v1/magic_links/email/invite")
async def invite(body: InviteRequest, ctx: Ctx) -> JSON:
    user, email = await service.invite(
        ctx,
        body.email,
        url=body.invite_magic_link_url,
        minutes=body.invite_expiration_minutes,
        name=body.name.model_dump() if body.name else None,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        attributes=body.attributes,
    )
    return ok(ctx.request_id, user_id=user.user_id, email_id=email.email_id)


@router.post("/v1/magic_links/email/revoke_invite")
async def revoke_invite(body: RevokeInviteRequest, ctx: Ctx) -> JSON:
    await service.revoke_invite(ctx, body.email)
    return ok(ctx.request_id)


@router.post("/v1/magic_links")
async def create(body: CreateRequest, ctx: Ctx) -> JSON:
    user_id, token = await service.create_embedded(ctx, body.user_id, minutes=body.expiration_minutes)
    return ok(ctx.request_id, user_id=user_id, token=token)


@router.post("/v1/magic_links/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    done = await service.authenticate(
        ctx,
        body.token,
        session_minutes=body.session_duration_minutes,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        custom_claims=body.session_custom_claims,
        code_verifier=body.code_verifier,
        options=body.options.model_dump() if body.options else None,
        attributes=body.attributes,
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
