"""The test clock: a test project moves its own time (`keystile clock`, /dev/clock)."""

from __future__ import annotations

from keystile.clock import errors, routes
from keystile.core.area import Area

area = Area(
    name="clock",
    routers=[routes.router],
    errors=[errors.ClockOfLiveProject, errors.ClockInProduction, errors.InvalidClockDuration],
)
