"""A test project's own clock: `keystile clock advance|show|reset` and /dev/clock.

A project's offset is kept in `projects.clock_offset_seconds` and read with the project's
secrets when a request authenticates (core/context.py), so every request of that project
reads "now" from a clock moved by it, in every process, and no other project's does.
Each process keeps an authenticated project for at most `PROPAGATION_SECONDS`; a move
returns once that has passed since it committed, so when it returns every process serving
the database sees the new time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta

from keystile.clock import errors, repository
from keystile.core.context import Context, ProjectCache, forget_project

# Far enough for any expiry keystile knows (a session lasts at most a year), near enough
# that no timestamp overflows.
MAX_OFFSET_SECONDS = 10 * 366 * 86_400
PROPAGATION_SECONDS = ProjectCache.TTL_SECONDS

_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"(?:\d{1,9}[smhdw])+")
_PART = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> int:
    """`90s`, `61m`, `2h`, `7d`, `1w`, or several together (`1h30m`) as seconds."""
    compact = text.strip().lower().replace(" ", "")
    if not _DURATION.fullmatch(compact):
        raise errors.InvalidClockDuration()
    seconds = sum(int(number) * _UNITS[unit] for number, unit in _PART.findall(compact))
    if seconds <= 0:
        raise errors.InvalidClockDuration()
    return seconds


def describe(seconds: int) -> str:
    """Seconds as `parse_duration` reads them, largest units first: 3660 → `1h1m`."""
    parts = []
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class Shown:
    project_id: str
    offset_seconds: int
    now: datetime  # the project's time


def refuse_unless_movable(ctx: Context) -> None:
    """Only a test project's clock moves, and never on a production server."""
    if not ctx.state.settings.dev:
        raise errors.ClockInProduction()
    if ctx.live:
        raise errors.ClockOfLiveProject()


def _shown(ctx: Context, offset: int) -> Shown:
    return Shown(ctx.project_id, offset, ctx.state.clock.now() + timedelta(seconds=offset))


async def _reach_every_process() -> None:
    await asyncio.sleep(PROPAGATION_SECONDS)


def _after_move(ctx: Context) -> None:
    """Once the move has committed: this process reads the project again at once, and the
    request answers when every other process has too."""
    project_id = ctx.project_id

    def forget() -> None:
        forget_project(project_id)

    def settle() -> Awaitable[None]:
        return _reach_every_process()

    ctx.after_commit.extend((forget, settle))


async def show(ctx: Context) -> Shown:
    """The project's offset and time, as stored (this request's own clock may be up to
    PROPAGATION_SECONDS behind a move made by another process)."""
    return _shown(ctx, await repository.offset(ctx.conn, ctx.project_id) or 0)


async def advance(ctx: Context, seconds: int) -> Shown:
    """Move the project's time `seconds` ahead: its tokens, sessions and JWTs expire as if
    that time had passed."""
    refuse_unless_movable(ctx)
    offset = await repository.advance(ctx.conn, ctx.project_id, seconds, limit=MAX_OFFSET_SECONDS)
    if offset is None:
        raise errors.InvalidClockDuration(
            f"A test project's clock goes at most {MAX_OFFSET_SECONDS // 86_400} days ahead of the server's."
        )
    _after_move(ctx)
    return _shown(ctx, offset)


async def reset(ctx: Context) -> Shown:
    """Put the project back on the server's time. What was stamped while it was ahead
    (expiry times included) keeps its stamp."""
    await repository.reset(ctx.conn, ctx.project_id)
    _after_move(ctx)
    return _shown(ctx, 0)
