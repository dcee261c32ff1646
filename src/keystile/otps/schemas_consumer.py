from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel


class SendTextRequest(RequestModel):
    phone_number: str
    expiration_minutes: int | None = None
    attributes: dict[str, Any] | None = None
    locale: str | None = None
    user_id: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None


class LoginOrCreateTextRequest(RequestModel):
    phone_number: str
    expiration_minutes: int | None = None
    attributes: dict[str, Any] | None = None
    create_user_as_pending: bool | None = None
    locale: str | None = None


class SendEmailRequest(RequestModel):
    email: str
    expiration_minutes: int | None = None
    attributes: dict[str, Any] | None = None
    locale: str | None = None
    user_id: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    login_template_id: str | None = None
    signup_template_id: str | None = None


class LoginOrCreateEmailRequest(RequestModel):
    email: str
    expiration_minutes: int | None = None
    attributes: dict[str, Any] | None = None
    create_user_as_pending: bool | None = None
    locale: str | None = None
    login_template_id: str | None = None
    signup_template_id: str | None = None


class AuthenticateRequest(RequestModel):
    method_id: str
    code: str
    attributes: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    session_token: str | None = None
    session_duration_minutes: int | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
    telemetry_id: str | None = None
