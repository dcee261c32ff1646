"""Passwords for both products: strength, breaches, hashes, and checking a login.

The consumer endpoints (service_consumer.py) and the B2B ones build on these functions; so
does `keystile import`. A password belongs to a User or a Member (`repository.Owner`:
`repository.user(user_id)`, `repository.member(member_id)`):

    await service.set_password(ctx, repository.member(member_id), password, email=address)
    row = await service.store_migrated(ctx, repository.user(user_id), "bcrypt", hash, None)
    async with service.login_guard(ctx, key):   # lockout per account and per client address
        row = await service.verify(ctx, owner_or_None, password)   # None: wrong or no account
        if row is None:
            raise errors.WrongPassword()
    await service.require_usable(ctx, owner, row, password)      # require_reset, breach at login
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Row

from keystile.core import ids, password_policy, ratelimit
from keystile.core.context import Context
from keystile.core.password_policy import PasswordPolicy
from keystile.core.ratelimit import Limit
from keystile.passwords import breach, errors, hashing, repository, strength
from keystile.passwords.repository import Owner

ID_PREFIX = "password"
# Failed logins: per account (Stytch locks an account out for an hour after 10 wrong
# passwords in an hour) and per client address (credential stuffing across many accounts).
# Tunable with KEYSTILE_RATE_LIMITS={"password_account": …, "password_ip": …}.
ACCOUNT_FAILURES = Limit("password_account", "10/hour", failures=(errors.WrongPassword,))
ADDRESS_FAILURES = Limit("password_ip", "100/minute;1000/hour", failures=(errors.WrongPassword,))
LIMITS = (ACCOUNT_FAILURES, ADDRESS_FAILURES)


def _threads(ctx: Context) -> None:
    hashing.configure(ctx.state.settings.password_hash_threads)


async def policy(ctx: Context) -> PasswordPolicy:
    """The project's password policy (keystile.toml `[projects.passwords]`)."""
    return await password_policy.load(ctx.conn, ctx.project_id)


async def is_breached(ctx: Context, password: str) -> bool:
    """The shipped list, then Have I Been Pwned if the server has it turned on."""
    settings = ctx.state.settings
    return await breach.is_breached(
        password, pwned_url=settings.pwned_passwords_url, seconds=settings.pwned_passwords_timeout
    )


async def evaluate(ctx: Context, password: str, *, email: str | None = None) -> strength.Verdict:
    """The strength_check verdict on `password` under the project's policy."""
    rules = await policy(ctx)
    breached = await is_breached(ctx, password) if rules.breach_detection_on_create else False
    _threads(ctx)
    return await hashing.run(lambda: strength.check(password, rules, breached=breached, email=email))


async def require_strong(ctx: Context, password: str, *, email: str | None = None) -> strength.Verdict:
    """`weak_password` unless the policy accepts `password` (and it is not breached)."""
    verdict = await evaluate(ctx, password, email=email)
    if not verdict.valid:
        reasons = [verdict.warning, *verdict.suggestions] if verdict.warning or verdict.suggestions else []
        raise errors.WeakPassword(" ".join([errors.WeakPassword.error_message, *reasons]) if reasons else None)
    return verdict


async def set_password(
    ctx: Context, owner: Owner, password: str, *, email: str | None = None, check: bool = True
) -> Row[Any]:
    """Give the owner this password (argon2id), replacing any it had: checked against the
    policy first unless `check` is false. Returns the new password row."""
    if check:
        await require_strong(ctx, password, email=email)
    _threads(ctx)
    hashed = await hashing.run(hashing.hash_new, password)
    return await repository.put(
        ctx.conn,
        ctx.project_id,
        owner,
        password_id=ids.new_id(ID_PREFIX, ctx.project.live),
        scheme=hashing.NATIVE,
        hash=hashed,
        config=None,
        now=ctx.clock.now(),
    )


def check_migrated(hash_type: str, hash: str, config: dict[str, Any] | None) -> None:
    """`invalid_hash` unless `hash` (with `config`) can be a hash of `hash_type`."""
    problem = hashing.check_migrated(hash_type, hash, config)
    if problem:
        raise errors.InvalidPasswordHash(f"{errors.InvalidPasswordHash.error_message} ({problem})")


async def store_migrated(
    ctx: Context, owner: Owner, hash_type: str, hash: str, config: dict[str, Any] | None
) -> Row[Any]:
    """Keep a hash made elsewhere (passwords.migrate, `keystile import`) as the owner's
    password: verified as `hash_type` at the first login, then re-hashed with argon2id."""
    check_migrated(hash_type, hash, config)
    return await repository.put(
        ctx.conn,
        ctx.project_id,
        owner,
        password_id=ids.new_id(ID_PREFIX, ctx.project.live),
        scheme=hash_type,
        hash=hash,
        config=config or None,
        now=ctx.clock.now(),
    )


@asynccontextmanager
async def login_guard(ctx: Context, account: str) -> AsyncIterator[None]:
    """Guard one password check: 429 while the account (`account`: a key naming it, the same
    whether or not it exists, e.g. the normalized email) or the client address has failed
    too often; a WrongPassword raised inside counts against both."""
    async with ratelimit.guard(ctx, (ACCOUNT_FAILURES, account), (ADDRESS_FAILURES, ratelimit.client_ip())):
        yield


async def verify(ctx: Context, owner: Owner | None, password: str) -> Row[Any] | None:
    """The owner's password row when `password` is right, else None. An owner with no
    password (or None: no such account) is checked against a dummy hash, so every answer
    costs one hash. A migrated hash, or one of older parameters, is replaced by argon2id."""
    _threads(ctx)
    row = await repository.find(ctx.conn, ctx.project_id, owner) if owner is not None else None
    if row is None:
        await hashing.run(hashing.verify, hashing.NATIVE, hashing.dummy_hash(), None, password)
        return None
    if not await hashing.run(hashing.verify, row.scheme, row.hash, row.config, password):
        return None
    if hashing.needs_rehash(row.scheme, row.hash):
        fresh = await hashing.run(hashing.hash_new, password)
        await repository.rehash(
            ctx.conn, ctx.project_id, row.password_id, old_hash=row.hash, hash=fresh, now=ctx.clock.now()
        )
    return row


async def require_usable(ctx: Context, owner: Owner, row: Row[Any], password: str) -> None:
    """After a right password: `reset_password` when it must be reset first (require_reset,
    or found breached now, which marks it so). The caller answers the error without rolling
    back (core/responses.py `committing`), so the mark stays."""
    if row.requires_reset:
        raise errors.ResetPassword()
    rules = await policy(ctx)
    if rules.breach_detection_on_authenticate and await is_breached(ctx, password):
        await repository.set_requires_reset(ctx.conn, ctx.project_id, owner, True, ctx.clock.now())
        raise errors.ResetPassword(
            "This password has appeared in a data breach: reset it before logging in with a password."
        )


async def require_reset(ctx: Context, owner: Owner) -> bool:
    """Mark the owner's password as needing a reset; False when it has none."""
    return await repository.set_requires_reset(ctx.conn, ctx.project_id, owner, True, ctx.clock.now())


async def delete(ctx: Context, owner: Owner) -> bool:
    """Remove the owner's password; False when it had none."""
    return await repository.remove(ctx.conn, ctx.project_id, owner)


async def find(ctx: Context, owner: Owner) -> Row[Any] | None:
    return await repository.find(ctx.conn, ctx.project_id, owner)


async def get(ctx: Context, password_id: str) -> Row[Any] | None:
    """A password row by its id, in this project."""
    return await repository.get(ctx.conn, ctx.project_id, password_id)
