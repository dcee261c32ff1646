"""Consumer sessions: /v1/sessions… (PY `consumer/api/sessions.py`). The JWKS route lives
in routes_jwks.py. Only sessions of kind "consumer" are seen here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import BaseRoute

from keystile import errors
from keystile.core.context import Context, Ctx
from keystile.core.responses import JSON, ok
from keystile.core.sandbox import SESSION_TOKENS
from keystile.core.schemas import JwtStr, RequestModel
from keystile.core.thin import thin_post
from keystile.sessions import sandbox, service
from keystile.users import service as users
from keystile.users.serializers import user_json

router = APIRouter()
# Served ahead of every router (the area's hot_routes, sessions/area.py).
hot_routes: list[BaseRoute] = []


class AuthenticateRequest(RequestModel):
    session_token: str | None = None
    session_duration_minutes: int | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
    authorization_check: dict[str, Any] | None = None


class RevokeRequest(RequestModel):
    session_id: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None


# The hot path: a thin route (core/thin.py), same behaviour as a FastAPI route.
@thin_post(hot_routes, "/v1/sessions/authenticate", AuthenticateRequest)
async def authenticate(body: AuthenticateRequest, ctx: Context) -> JSON:
    if body.authorization_check is not None:
        # Refusing beats silently authorizing: keystile has no consumer RBAC policy yet.
        raise errors.BadRequest("authorization_check is not supported yet: keystile has no consumer RBAC policy.")
    if body.session_token in SESSION_TOKENS and not ctx.project.live:  # one set lookup (core/sandbox.py)
        await sandbox.prepare(ctx, body.session_token or "")
    found = await service.authenticate_user(
        ctx,
        token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
    )
    return ok(
        ctx.request_id,
        session=service.user_session_json(found.row, []),
        session_token=found.token,
        session_jwt=await service.user_jwt(ctx, found.row, [], signing_kid=found.signing_kid),
        user=user_json(found.user, found.emails, found.totps, found.phones),
    )


@router.get("/v1/sessions")
async def get_sessions(user_id: str, ctx: Ctx) -> JSON:
    user = await users.load(ctx, user_id)
    rows = await service.list_live(ctx, "consumer", user_id=user.user_id)
    return ok(ctx.request_id, sessions=[service.user_session_json(r, []) for r in rows])


@router.post("/v1/sessions/revoke")
async def revoke(body: RevokeRequest, ctx: Ctx) -> JSON:
    await service.revoke(
        ctx, "consumer", session_id=body.session_id, token=body.session_token, session_jwt=body.session_jwt
    )
    return ok(ctx.request_id)
