"""The one source of time. Tests move it; nothing else calls `datetime.now`.

A test project can move its own time too (`keystile clock advance`): its requests read a
`ShiftedClock`, the server's clock plus the project's offset (core/context.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

_RFC3339 = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Current UTC time, truncated to microseconds, timezone-aware."""
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        """Move time forward (tests and the test-mode clock only)."""
        self.offset += timedelta(**kwargs)


class ShiftedClock(Clock):
    """`base` moved by a test project's offset: the time that project's requests see.
    Moving `base` (a test's injected clock) moves this one too."""

    def __init__(self, base: Clock, shift: timedelta) -> None:
        super().__init__()
        self.base = base
        self.offset = shift

    def now(self) -> datetime:
        return self.base.now() + self.offset


def rfc3339(value: datetime | None) -> str | None:
    """Timestamps as Stytch writes them: UTC with a `Z` suffix."""
    if value is None:
        return None
    return _utc_text(value, _RFC3339)


def rfc3339_seconds(value: datetime) -> str:
    """`rfc3339` without the fraction of the second (JWT claims carry whole seconds)."""
    return _utc_text(value, _RFC3339 | orjson.OPT_OMIT_MICROSECONDS)


def _utc_text(value: datetime, option: int) -> str:
    # orjson writes what `isoformat()` does (microseconds only when there are any) in a
    # tenth of the time; a response carries about ten timestamps.
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return orjson.dumps(value, option=option)[1:-1].decode()


def as_utc(value: datetime) -> datetime:
    """Values read back from SQLite come without a zone; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
