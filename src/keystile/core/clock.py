"""The one source of time. Tests move it; nothing else calls `datetime.now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Current UTC time, truncated to microseconds, timezone-aware."""
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        """Move time forward (tests and the test-mode clock only)."""
        self.offset += timedelta(**kwargs)


def rfc3339(value: datetime | None) -> str | None:
    """Timestamps as Stytch writes them: UTC with a `Z` suffix."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def as_utc(value: datetime) -> datetime:
    """Values read back from SQLite come without a zone; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
