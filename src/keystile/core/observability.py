"""Health, readiness, Prometheus metrics and structured JSON logs."""

from __future__ import annotations

from typing import Any


def install(app: Any, state: Any) -> None:
    """Attach to the application at start-up."""
