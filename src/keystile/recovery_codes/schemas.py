from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel


class RecoverRequest(RequestModel):
    organization_id: str
    member_id: str
    recovery_code: str
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    telemetry_id: str | None = None


class RotateRequest(RequestModel):
    organization_id: str
    member_id: str
