from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel
from keystile.sessions.schemas import SecondFactorAuthenticateRequest


class SendRequest(RequestModel):
    organization_id: str
    member_id: str
    mfa_phone_number: str | None = None
    locale: str | None = None
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None


class AuthenticateRequest(SecondFactorAuthenticateRequest):
    """otps.sms.authenticate"""


class EmailLoginOrSignupRequest(RequestModel):
    organization_id: str
    email_address: str
    login_template_id: str | None = None
    signup_template_id: str | None = None
    locale: str | None = None
    login_expiration_minutes: int | None = None
    signup_expiration_minutes: int | None = None


class EmailAuthenticateRequest(RequestModel):
    organization_id: str
    email_address: str
    code: str
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    intermediate_session_token: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    telemetry_id: str | None = None


class EmailDiscoverySendRequest(RequestModel):
    email_address: str
    login_template_id: str | None = None
    locale: str | None = None
    discovery_expiration_minutes: int | None = None


class EmailDiscoveryAuthenticateRequest(RequestModel):
    email_address: str
    code: str
