"""Consumer OAuth: the start route a browser opens (/v1/public/oauth/{provider}/start), and
the API (PY `consumer/api/oauth.py`): /v1/oauth/authenticate, /v1/oauth/attach."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.oauth import callback
from keystile.oauth import service_consumer as service
from keystile.oauth.routes_callback import redirect_with_cookie, start_query
from keystile.oauth.schemas import AttachRequest, AuthenticateRequest
from keystile.sessions import service as sessions
from keystile.users import service as users

router = APIRouter()
public_router = APIRouter(include_in_schema=False)


@public_router.get("/v1/public/oauth/{provider}/start")
async def start(provider: str, request: Request) -> Response:
    """Send the browser to the provider (stytch.com/docs/api/oauth-google-start)."""
    fields, provider_params = start_query(request)
    async with callback.public_context(
        request.app.state.keystile, fields.get("public_token", ""), request.state.request_id
    ) as ctx:
        started = await service.start(
            ctx,
            provider,
            login_redirect_url=fields.get("login_redirect_url"),
            signup_redirect_url=fields.get("signup_redirect_url"),
            custom_scopes=fields.get("custom_scopes"),
            provider_params=provider_params,
            code_challenge=fields.get("code_challenge"),
            oauth_attach_token=fields.get("oauth_attach_token"),
        )
    return redirect_with_cookie(started, ctx.project.public_token)


@router.post("/v1/oauth/authenticate")
async def authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    done = await service.authenticate(
        ctx,
        body.token,
        session_minutes=body.session_duration_minutes,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        custom_claims=body.session_custom_claims,
        code_verifier=body.code_verifier,
    )
    return ok(
        ctx.request_id,
        user_id=done.user.user_id,
        provider_subject=done.profile.subject,
        provider_type=service.provider_type(done.provider),
        session_token=done.session_token,
        session_jwt=done.session_jwt,
        provider_values=done.provider_values.to_json(),
        user=await users.user_body(ctx, done.user),
        reset_sessions=False,
        oauth_user_registration_id=done.registration.registration_id,
        user_session=sessions.user_session_json(done.session, []) if done.session else None,
        user_device=None,
    )


@router.post("/v1/oauth/attach")
async def attach(body: AttachRequest, ctx: Ctx) -> JSON:
    token = await service.attach(
        ctx, body.provider, user_id=body.user_id, session_token=body.session_token, session_jwt=body.session_jwt
    )
    return ok(ctx.request_id, oauth_attach_token=token)


@router.delete("/v1/users/oauth/{oauth_user_registration_id}")
async def delete_oauth_registration(oauth_user_registration_id: str, ctx: Ctx) -> JSON:
    user = await service.delete_registration(ctx, oauth_user_registration_id)
    return ok(ctx.request_id, user_id=user.user_id, user=await users.user_body(ctx, user))
