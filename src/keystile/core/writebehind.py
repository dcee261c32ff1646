"""Writes no request waits for: bookkeeping such as a session's `last_accessed_at`.

Each write runs in a task and a transaction of its own, never awaited by the request that
asked for it, so a request never queues on a write lock for it (on SQLite, the lock that
every worker process shares). Per key, one write at a time: while one is pending, or for
a quiet period after it landed (until its rows say it happened), asking again does
nothing. The write itself should be conditional (`UPDATE … WHERE last_accessed_at <
:threshold`), so that other processes asking for the same write at the same time change
nothing.

A failed write is logged and dropped: the next request that finds it due asks again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("keystile.db")

Write = Callable[[AsyncConnection], Awaitable[object]]


class WriteBehind:
    """The background writes of one process, over its database's transactions."""

    # Keys remembered as recently written, at most (the oldest are forgotten first).
    MAX_QUIET = 100_000

    def __init__(self, transaction: Callable[[], AbstractAsyncContextManager[AsyncConnection]]) -> None:
        self._transaction = transaction
        self._pending: dict[Hashable, asyncio.Task[None]] = {}
        self._quiet: OrderedDict[Hashable, datetime] = OrderedDict()

    def submit(self, key: Hashable, write: Write, *, now: datetime, quiet_until: datetime) -> bool:
        """Start `write` in the background unless one for `key` is pending or landed and
        `now` is before its `quiet_until`. Returns whether it was started."""
        if key in self._pending:
            return False
        quiet = self._quiet.get(key)
        if quiet is not None and now < quiet:
            return False
        task = asyncio.get_running_loop().create_task(self._run(key, write, quiet_until))
        self._pending[key] = task
        return True

    async def _run(self, key: Hashable, write: Write, quiet_until: datetime) -> None:
        try:
            async with self._transaction() as conn:
                await write(conn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - nobody awaits this task: say what failed, a later request retries
            log.warning("background write %r failed: %s", key, exc)
        else:
            self._quiet[key] = quiet_until
            self._quiet.move_to_end(key)
            while len(self._quiet) > self.MAX_QUIET:
                self._quiet.popitem(last=False)
        finally:
            self._pending.pop(key, None)

    async def drain(self, seconds: float = 5.0) -> None:
        """Let the pending writes finish (at shutdown; tests waiting for one), cancelling
        those still running after `seconds`."""
        tasks = list(self._pending.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=seconds)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
