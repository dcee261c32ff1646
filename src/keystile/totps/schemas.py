from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel
from keystile.sessions.schemas import SecondFactorAuthenticateRequest


class CreateRequest(RequestModel):
    organization_id: str
    member_id: str
    expiration_minutes: int | None = None
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None


class AuthenticateRequest(SecondFactorAuthenticateRequest):
    """totps.authenticate"""


class MigrateRequest(RequestModel):
    organization_id: str
    member_id: str
    secret: str
    recovery_codes: list[str] | None = None


class ConsumerCreateRequest(RequestModel):
    user_id: str
    expiration_minutes: int | None = None


class ConsumerAuthenticateRequest(RequestModel):
    user_id: str
    totp_code: str
    session_token: str | None = None
    session_duration_minutes: int | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
    telemetry_id: str | None = None


class ConsumerRecoveryCodesRequest(RequestModel):
    user_id: str


class ConsumerRecoverRequest(RequestModel):
    user_id: str
    recovery_code: str
    session_token: str | None = None
    session_duration_minutes: int | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
    telemetry_id: str | None = None
