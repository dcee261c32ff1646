"""The authentication factor a magic link puts into a session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keystile.core.area import Factor

MAGIC_LINK_EMAIL = Factor("magic_link", "email")


def email(now: datetime, email_id: str, address: str) -> dict[str, Any]:
    """The factor of a magic link sent to `address` (its `email_id`), used `now`."""
    return MAGIC_LINK_EMAIL.build(now, email_factor={"email_id": email_id, "email_address": address})
