"""Request bodies of the consumer OAuth API (PY `consumer/api/oauth.py`)."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel


class AuthenticateRequest(RequestModel):
    token: str
    session_token: str | None = None
    session_duration_minutes: int | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
    code_verifier: str | None = None
    telemetry_id: str | None = None


class AttachRequest(RequestModel):
    provider: str
    user_id: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None
