"""Request bodies of the consumer password endpoints (PY `consumer/api/passwords*.py`)."""

from __future__ import annotations

from keystile.core.schemas import RequestModel


class StrengthCheckRequest(RequestModel):
    password: str
    email: str | None = None
