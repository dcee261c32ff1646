"""The consumer Users API: /v1/users (PY `consumer/api/users.py`)."""

from __future__ import annotations

from fastapi import APIRouter

from keystile import errors
from keystile.core.context import Ctx
from keystile.core.responses import JSON, ok
from keystile.users import service
from keystile.users.schemas import CreateUserRequest, SearchUsersRequest, UpdateUserRequest

router = APIRouter()


@router.post("/v1/users")
async def create_user(body: CreateUserRequest, ctx: Ctx) -> JSON:
    if body.email is None and body.phone_number is None:
        raise errors.BadRequest("email or phone_number is required.")
    row, email, phone = await service.create_user_with(
        ctx,
        email=body.email,
        phone_number=body.phone_number,
        pending=bool(body.create_user_as_pending),
        name=body.name.model_dump() if body.name else None,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        external_id=body.external_id,
    )
    return ok(
        ctx.request_id,
        user_id=row.user_id,
        email_id=email.email_id if email else "",
        status=row.status,
        phone_id=phone.phone_id if phone else "",
        user=await service.user_body(ctx, row),
    )


@router.post("/v1/users/search")
async def search_users(body: SearchUsersRequest, ctx: Ctx) -> JSON:
    results, total, next_cursor = await service.search_users(
        ctx, raw_query=body.query, limit=body.limit, cursor=body.cursor
    )
    return ok(ctx.request_id, results=results, results_metadata={"total": total, "next_cursor": next_cursor})


@router.get("/v1/users/{user_id}")
async def get_user(user_id: str, ctx: Ctx) -> JSON:
    row = await service.load(ctx, user_id)
    return ok(ctx.request_id, **await service.user_body(ctx, row))


@router.put("/v1/users/{user_id}")
async def update_user(user_id: str, body: UpdateUserRequest, ctx: Ctx) -> JSON:
    row = await service.update_user(
        ctx,
        user_id,
        name=body.name.model_dump(exclude_unset=True) if body.name else None,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        external_id=body.external_id,
    )
    user = await service.user_body(ctx, row)
    return ok(
        ctx.request_id,
        user_id=row.user_id,
        emails=user["emails"],
        phone_numbers=user["phone_numbers"],
        crypto_wallets=user["crypto_wallets"],
        user=user,
    )


@router.delete("/v1/users/emails/{email_id}")
async def delete_email(email_id: str, ctx: Ctx) -> JSON:
    row = await service.delete_email(ctx, email_id)
    return ok(ctx.request_id, user_id=row.user_id, user=await service.user_body(ctx, row))


@router.delete("/v1/users/{user_id}/external_id")
async def delete_external_id(user_id: str, ctx: Ctx) -> JSON:
    row = await service.delete_external_id(ctx, user_id)
    return ok(ctx.request_id, user_id=row.user_id, user=await service.user_body(ctx, row))


@router.delete("/v1/users/{user_id}")
async def delete_user(user_id: str, ctx: Ctx) -> JSON:
    return ok(ctx.request_id, user_id=await service.delete_user(ctx, user_id))


@router.delete("/v1/users/phone_numbers/{phone_id}")
async def delete_phone_number(phone_id: str, ctx: Ctx) -> JSON:
    row = await service.delete_phone(ctx, phone_id)
    return ok(ctx.request_id, user_id=row.user_id, user=await service.user_body(ctx, row))
