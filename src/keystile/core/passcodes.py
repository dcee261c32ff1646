"""One-time passcodes sent by text or email, for any area that sends them (consumer and B2B
OTPs): 6 digits from `secrets`, stored hashed, at most one live code per project and method
(a phone_id or email_id; a new send supersedes the last), spent by one conditional DELETE
so that of concurrent tries of one code exactly one succeeds, and dead after MAX_WRONG_TRIES
wrong tries or past its expiry. A wrong try is counted in the request's transaction, so a
route answers its error with `responses.committing` (a raised error would roll the count back).

Every passcode of every area is hashed here (`code_hash`): an HMAC under a key derived from
the master key, bound to the project and the method or subject, since a plain hash of six
digits is undone offline by trying the million values."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from keystile import errors
from keystile.models.passcodes import passcodes

if TYPE_CHECKING:
    from keystile.core.context import Context
    from keystile.core.keys import MasterKey

DIGITS = 6
MAX_WRONG_TRIES = 5
MIN_MINUTES, MAX_MINUTES = 1, 10


@dataclass(frozen=True)
class Outcome:
    """A try of a code: `accepted` (then `channel` says how it was sent), else `known` says
    whether the method had a live code (a wrong code) or none (never sent, spent, superseded,
    expired or dead)."""

    accepted: bool
    known: bool
    channel: str = ""
    destination: str | None = None  # where the code was sent, when `issue` was told


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def code_hash(master: MasterKey, project_id: str, scope: str, code: str) -> str:
    """The stored form of a passcode: keyed by the master key, and bound to the project and
    `scope` (a method id, or an area's method and subject) so equal codes never share a hash."""
    return master.digest(f"passcode:{project_id}:{scope}", code.strip())


def hash_for(ctx: Context, scope: str, code: str) -> str:
    """`code_hash` under the running keystile's master key, for the request's project."""
    return code_hash(ctx.state.keyring.master, ctx.project_id, scope, code)


def _hash(ctx: Context, method_id: str, code: str) -> str:
    return hash_for(ctx, method_id, code)


def minutes(expiration_minutes: int | None, default: int) -> int:
    """The code's lifetime: `expiration_minutes` within MIN..MAX (Stytch's bounds), else the default."""
    if expiration_minutes is None:
        return default
    if not MIN_MINUTES <= expiration_minutes <= MAX_MINUTES:
        raise errors.InvalidArgument(f"expiration_minutes must be between {MIN_MINUTES} and {MAX_MINUTES}.")
    return expiration_minutes


async def issue(ctx: Context, method_id: str, *, channel: str, minutes: int, destination: str | None = None) -> str:
    """A new code for the method, replacing any code it had; returned once, stored hashed.
    `destination` (the number or address it goes to) comes back with the accepted code."""
    code = new_code()
    now = ctx.clock.now()
    await ctx.conn.execute(
        delete(passcodes).where(passcodes.c.project_id == ctx.project_id, passcodes.c.method_id == method_id)
    )
    await ctx.conn.execute(
        insert(passcodes).values(
            project_id=ctx.project_id,
            method_id=method_id,
            code_hash=_hash(ctx, method_id, code),
            channel=channel,
            destination=destination,
            wrong_tries=0,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    return code


def _unexpired(ctx: Context, method_id: str) -> tuple[Any, ...]:
    return (
        passcodes.c.project_id == ctx.project_id,
        passcodes.c.method_id == method_id,
        passcodes.c.expires_at > ctx.clock.now(),
    )


def _live(ctx: Context, method_id: str) -> tuple[Any, ...]:
    return (*_unexpired(ctx, method_id), passcodes.c.wrong_tries < MAX_WRONG_TRIES)


async def sent(ctx: Context, method_id: str) -> Row[Any] | None:
    """The method's code if one was sent and is neither spent nor expired, dead or alive: its
    hash names the sent code for limits counted per code, so a code dead after too many wrong
    tries is still named (and refused) as that code."""
    return (await ctx.conn.execute(select(passcodes.c.code_hash).where(*_unexpired(ctx, method_id)))).first()


async def spend(ctx: Context, method_id: str, code: str) -> Outcome:
    """Accept `code` once for the method. A wrong code counts a try; the last allowed try
    kills the code. Expired codes are not found."""
    where = _live(ctx, method_id)
    candidate = code.strip() if isinstance(code, str) else ""
    if len(candidate) == DIGITS and candidate.isdigit():
        spent = (
            await ctx.conn.execute(
                delete(passcodes)
                .where(*where, passcodes.c.code_hash == _hash(ctx, method_id, candidate))
                .returning(passcodes.c.channel, passcodes.c.destination)
            )
        ).first()
        if spent is not None:
            return Outcome(accepted=True, known=True, channel=spent.channel, destination=spent.destination)
    counted = await ctx.conn.execute(update(passcodes).where(*where).values(wrong_tries=passcodes.c.wrong_tries + 1))
    return Outcome(accepted=False, known=bool(counted.rowcount))


async def forget(ctx: Context, method_id: str) -> None:
    """Drop the method's code (its phone number or email was deleted)."""
    await ctx.conn.execute(
        delete(passcodes).where(passcodes.c.project_id == ctx.project_id, passcodes.c.method_id == method_id)
    )
