"""POST /v1/b2b/otps/sms/send, /v1/b2b/otps/sms/authenticate and
DELETE /v1/b2b/organizations/{organization_id}/members/mfa_phone_numbers/{member_id}."""

from __future__ import annotations

from fastapi import APIRouter

from keystile.core.context import Ctx
from keystile.core.responses import JSON, committing, ok
from keystile.otps import errors, service
from keystile.otps.schemas import AuthenticateRequest, SendRequest

router = APIRouter()


@router.post("/v1/b2b/otps/sms/send")
async def sms_send(body: SendRequest, ctx: Ctx) -> JSON:
    result = await service.send(
        ctx,
        body.organization_id,
        body.member_id,
        mfa_phone_number=body.mfa_phone_number,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return ok(ctx.request_id, **result)


@router.post("/v1/b2b/otps/sms/authenticate")
async def sms_authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    # A wrong code is answered, not raised, so the try counted against the code commits.
    return await committing(ctx.request_id, _sms_authenticate(body, ctx), errors.OtpCodeNotFound)


async def _sms_authenticate(body: AuthenticateRequest, ctx: Ctx) -> JSON:
    result = await service.authenticate(
        ctx,
        body.organization_id,
        body.member_id,
        body.code,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        minutes=body.session_duration_minutes,
        custom_claims=body.session_custom_claims,
        set_mfa_enrollment=body.set_mfa_enrollment,
        set_default_mfa=body.set_default_mfa,
    )
    return ok(ctx.request_id, **result)


@router.delete("/v1/b2b/organizations/{organization_id}/members/mfa_phone_numbers/{member_id}")
async def delete_mfa_phone_number(organization_id: str, member_id: str, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, **await service.delete_mfa_phone_number(ctx, organization_id, member_id))
