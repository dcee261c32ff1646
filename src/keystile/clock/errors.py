"""The test clock's refusals. Stytch has no test clock, so these error types are keystile's own."""

from __future__ import annotations

from keystile.errors import define

ClockOfLiveProject = define(
    "ClockOfLiveProject",
    403,
    "test_clock_live_project",
    "Only a test project's clock can be moved: a live project always runs on real time.",
)
ClockInProduction = define(
    "ClockInProduction",
    403,
    "test_clock_disabled",
    "The test clock is off on a server run with KEYSTILE_ENV=production.",
)
InvalidClockDuration = define(
    "InvalidClockDuration",
    400,
    "invalid_clock_duration",
    "The duration must be a positive whole number of units such as 90s, 61m, 2h, 7d or 1h30m.",
)
