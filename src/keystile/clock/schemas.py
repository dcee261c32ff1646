"""Request body of POST /dev/clock/advance (POST /dev/clock/reset takes none)."""

from __future__ import annotations

from pydantic import Field

from keystile.core.schemas import RequestModel


class AdvanceRequest(RequestModel):
    # One of the two: `duration` as the CLI takes it ("61m", "1h30m"), or whole seconds.
    duration: str | None = None
    seconds: int | None = Field(default=None, gt=0)
