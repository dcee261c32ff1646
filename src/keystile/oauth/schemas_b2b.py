"""Request bodies of the B2B OAuth endpoints (PY `b2b/api/oauth.py`, `oauth_discovery.py`).

Fields the SDK may send but keystile does not act on (`telemetry_id`) are accepted and
ignored, as absent optional fields are; `locale` picks nothing yet (one language)."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel


class AuthenticateRequest(RequestModel):
    oauth_token: str
    session_token: str | None = None
    session_duration_minutes: int | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
    pkce_code_verifier: str | None = None
    locale: str | None = None
    intermediate_session_token: str | None = None
    telemetry_id: str | None = None


class DiscoveryAuthenticateRequest(RequestModel):
    discovery_oauth_token: str
    session_token: str | None = None
    session_duration_minutes: int | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
    pkce_code_verifier: str | None = None
