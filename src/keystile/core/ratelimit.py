"""Rate limits (Stytch's 429 too_many_requests): per project, per email for sends, per token or IP for authenticate attempts."""

from __future__ import annotations

from typing import Any


def install(app: Any, state: Any) -> None:
    """Attach to the application at start-up."""
