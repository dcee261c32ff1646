"""Request bodies of sessions.migrate (PY `b2b/api/sessions.py`, `consumer/api/sessions.py` `migrate`)."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import RequestModel


class MigrateMemberRequest(RequestModel):
    session_token: str
    organization_id: str
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None


class MigrateUserRequest(RequestModel):
    session_token: str
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    telemetry_id: str | None = None
