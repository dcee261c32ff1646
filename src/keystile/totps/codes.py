"""What B2B and consumer TOTP share: codes are 6 digits over 30 seconds (RFC 6238, SHA-1, as
authenticator apps expect), one step of drift either way is accepted, a code is never
accepted twice, and the secret is encrypted with the master key."""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import timedelta
from typing import Any

import pyotp
import segno
from sqlalchemy.engine import Row

from keystile import errors as shared
from keystile.core import ids, ratelimit
from keystile.core.context import Context
from keystile.core.ratelimit import Limit
from keystile.totps import errors, repository
from keystile.totps.repository import Product

STEP_SECONDS = 30
DRIFT_STEPS = 1
MIN_EXPIRATION, MAX_EXPIRATION = 5, 1440
# Wrong codes per Member or User: a 6-digit code is guessable, so only a few tries, then 429.
FAILURES = Limit(
    "totp_failures",
    "5/15 minutes;20/day",
    failures=(errors.UnableToAuthenticateTotp, errors.TotpCodeAlreadyAuthenticated),
)
SECRET_MESSAGE = "secret must be a base32 TOTP secret of at least 16 characters."


def _purpose(ctx: Context, owner_id: str, registration_id: str) -> str:
    return f"totp:{ctx.project_id}:{owner_id}:{registration_id}"


def qr_code(uri: str) -> str:
    """The provisioning URI as a PNG data URL, in the form Stytch returns
    (`data:image/png;base64, iVBOR…`)."""
    data = segno.make(uri, error="m").png_data_uri(scale=4, border=4)
    return data.replace("data:image/png;base64,", "data:image/png;base64, ", 1)


def provisioning_qr_code(secret: str, *, name: str, issuer: str) -> str:
    return qr_code(pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=name, issuer_name=issuer))


def check_secret(secret: str) -> str:
    cleaned = secret.replace(" ", "").upper()
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise shared.InvalidArgument(SECRET_MESSAGE) from None
    if len(raw) < 10:
        raise shared.InvalidArgument(SECRET_MESSAGE)
    return cleaned


def check_expiration(minutes: int) -> None:
    if not MIN_EXPIRATION <= minutes <= MAX_EXPIRATION:
        raise shared.InvalidArgument(f"expiration_minutes must be between {MIN_EXPIRATION} and {MAX_EXPIRATION}.")


def matching_step(secret: str, code: str, now_seconds: float) -> int | None:
    """The time step within one step of now whose code is `code`, or None."""
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now_seconds // STEP_SECONDS)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


async def register(
    ctx: Context,
    product: Product,
    owner_id: str,
    *,
    prefix: str,
    secret: str | None = None,
    expiration_minutes: int | None = None,
    **columns: Any,
) -> tuple[str, str]:
    """Store a new registration for the owner, replacing its pending ones: unverified until a
    first code proves it unless `secret` is imported (then verified at once).
    Returns (registration id, secret)."""
    await repository.delete_for(ctx.conn, ctx.project_id, owner_id, pending_only=True, product=product)
    registration_id = ids.new_id(prefix, ctx.live)
    imported = secret is not None
    secret = secret if secret is not None else pyotp.random_base32(32)
    now = ctx.clock.now()
    owner_column = "member_id" if product == "b2b" else "user_id"
    await repository.create(
        ctx.conn,
        product,
        totp_registration_id=registration_id,
        project_id=ctx.project_id,
        secret=ctx.state.keyring.master.seal(_purpose(ctx, owner_id, registration_id), secret),
        verified=imported,
        last_step=0,
        created_at=now,
        expires_at=None if imported or expiration_minutes is None else now + timedelta(minutes=expiration_minutes),
        **{owner_column: owner_id},
        **columns,
    )
    return registration_id, secret


async def verify(ctx: Context, product: Product, owner_id: str, registration: Row[Any], code: str) -> None:
    """Accept `code` for the registration once (verifying it), or raise: wrong code
    (`unable_to_authenticate_totp`), code of a step already used (`totp_code_already_authenticated`);
    both count towards FAILURES per owner."""
    secret = ctx.state.keyring.master.unseal(
        _purpose(ctx, owner_id, registration.totp_registration_id), registration.secret
    )
    async with ratelimit.guard(ctx, (FAILURES, owner_id)):
        step = matching_step(secret, code, ctx.clock.now().timestamp())
        if step is None:
            raise errors.UnableToAuthenticateTotp()
        if not await repository.accept_step(ctx.conn, ctx.project_id, registration.totp_registration_id, step, product):
            raise errors.TotpCodeAlreadyAuthenticated()
