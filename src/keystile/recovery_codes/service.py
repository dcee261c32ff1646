"""B2B recovery codes (stytch.com/docs/b2b/api/recovery-codes-overview): ten single-use codes
that stand in for a Member's TOTP, minted with it, shown again by `get`, replaced by `rotate`.
A consumer User's TOTP has them too (the totps area's `totps.recovery_codes` and `recover`
use `store`, `unused_codes` and `spend` here with `product="consumer"`).

Each is stored twice: hashed with its project and Member (recover finds it by one conditional
UPDATE) and encrypted with the master key (get returns it, as Stytch's does)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy.engine import Row

from keystile.core import ratelimit
from keystile.core.context import Context
from keystile.core.ratelimit import Limit
from keystile.members import service as members_service
from keystile.organizations import repository as orgs_repo
from keystile.organizations.serializers import organization_json
from keystile.recovery_codes import errors, factors, repository
from keystile.recovery_codes.repository import Product
from keystile.sessions import logins
from keystile.sessions import service as sessions

COUNT = 10
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
# Wrong recovery codes per Member: a few guesses, then 429 (a code has ~62 bits; this keeps
# guessing pointless and a locked-out Member's own typos cheap).
FAILURES = Limit("recovery_code_failures", "5/15 minutes;20/day", failures=(errors.UnableToAuthenticateRecoveryCode,))


def new_code() -> str:
    """`xxxx-xxxx-xxxx`, lower-case letters and digits, as Stytch's look."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))


def normalize(code: str) -> str:
    return code.strip().lower()


def code_hash(project_id: str, owner_id: str, code: str) -> str:
    return hashlib.sha256(f"{project_id}\0{owner_id}\0{normalize(code)}".encode()).hexdigest()


def _purpose(ctx: Context, owner_id: str) -> str:
    return f"recovery_code:{ctx.project_id}:{owner_id}"


async def store(ctx: Context, owner_id: str, codes: list[str] | None = None, *, product: Product = "b2b") -> list[str]:
    """Give the Member (or consumer User) a new set of codes (`codes` when migrating, else ten
    new ones); the old set stops working."""
    codes = [normalize(c) for c in codes] if codes else [new_code() for _ in range(COUNT)]
    codes = list(dict.fromkeys(c for c in codes if c))
    master = ctx.state.keyring.master
    rows = [
        {"code_hash": code_hash(ctx.project_id, owner_id, c), "code": master.seal(_purpose(ctx, owner_id), c)}
        for c in codes
    ]
    await repository.replace(ctx.conn, ctx.project_id, owner_id, rows, ctx.clock.now(), product)
    return codes


async def forget(ctx: Context, owner_id: str, *, product: Product = "b2b") -> None:
    await repository.delete_all(ctx.conn, ctx.project_id, owner_id, product)


async def unused_codes(ctx: Context, owner_id: str, *, product: Product = "b2b") -> list[str]:
    """The owner's codes not yet spent, decrypted, in the order they were minted."""
    master = ctx.state.keyring.master
    rows = await repository.unused(ctx.conn, ctx.project_id, owner_id, product)
    return [master.unseal(_purpose(ctx, owner_id), row.code) for row in rows]


async def remaining(ctx: Context, owner_id: str, *, product: Product = "b2b") -> int:
    return await repository.count_unused(ctx.conn, ctx.project_id, owner_id, product)


async def spend(ctx: Context, owner_id: str, code: str, *, product: Product = "b2b") -> None:
    """Use one of the owner's codes, or `unable_to_authenticate_recovery_code`; a few wrong
    codes per owner, then 429 (FAILURES)."""
    async with ratelimit.guard(ctx, (FAILURES, owner_id)):
        spent = await repository.spend(
            ctx.conn, ctx.project_id, owner_id, code_hash(ctx.project_id, owner_id, code), ctx.clock.now(), product
        )
        if not spent:
            raise errors.UnableToAuthenticateRecoveryCode()


async def _member(ctx: Context, organization_ref: str, member_ref: str) -> tuple[Row[Any], Row[Any]]:
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_service.get_existing(ctx, organization.organization_id, member_ref)
    if not member.totp_registration_id:
        raise errors.RecoveryCodesNotFound()
    return organization, member


async def get(ctx: Context, organization_ref: str, member_ref: str) -> dict[str, Any]:
    """The Member's unused codes (stytch.com/docs/b2b/api/recovery-codes-get)."""
    organization, member = await _member(ctx, organization_ref, member_ref)
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
        "recovery_codes": await unused_codes(ctx, member.member_id),
    }


async def rotate(ctx: Context, organization_ref: str, member_ref: str) -> dict[str, Any]:
    """Ten new codes; the old ones stop working (stytch.com/docs/b2b/api/recovery-codes-rotate)."""
    organization, member = await _member(ctx, organization_ref, member_ref)
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, organization),
        "organization": organization_json(organization),
        "recovery_codes": await store(ctx, member.member_id),
    }


async def recover(
    ctx: Context,
    organization_ref: str,
    member_ref: str,
    code: str,
    *,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """Spend one code as the Member's second factor (stytch.com/docs/b2b/api/recovery-codes-recover):
    it completes an intermediate session, or joins a session of the Member."""
    sessions.check_duration(minutes)
    organization, member = await _member(ctx, organization_ref, member_ref)
    logins.check_mfa_method(organization, "totp")  # the codes back up the TOTP
    await spend(ctx, member.member_id, code)
    factor = factors.RECOVERY_CODE.build(
        ctx.clock.now(), recovery_code_factor={"totp_recovery_code_id": member.totp_registration_id}
    )
    result = await logins.complete_secondary(
        ctx,
        organization,
        member,
        factor=factor,
        intermediate_session_token=intermediate_session_token,
        session_token=session_token,
        session_jwt=session_jwt,
        minutes=minutes,
        custom_claims=custom_claims,
    )
    return {
        "member_id": result["member_id"],
        "member": result["member"],
        "organization": result["organization"],
        "session_token": result["session_token"],
        "session_jwt": result["session_jwt"],
        "member_session": result["member_session"],
        "recovery_codes_remaining": await remaining(ctx, member.member_id),
        "member_device": None,
    }
