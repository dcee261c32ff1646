"""Request bodies of the consumer password endpoints (PY `consumer/api/passwords*.py`)."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel
from keystile.passwords.schemas import MigrateFields


class StrengthCheckRequest(RequestModel):
    password: str
    email: str | None = None


class SessionFields(RequestModel):
    """What a consumer password login may pass about the session it starts."""

    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    telemetry_id: str | None = None


class ExtendingSessionFields(SessionFields):
    """A login that may extend a session the user already has instead of starting one
    (every consumer password login but passwords.create)."""

    session_token: str | None = None
    session_jwt: JwtStr | None = None


class CreateRequest(SessionFields):
    email: str
    password: str
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    name: dict[str, Any] | None = None


class AuthenticateRequest(ExtendingSessionFields):
    email: str
    password: str


class MigrateRequest(MigrateFields):
    email: str
    set_email_verified: bool | None = None
    name: dict[str, Any] | None = None
    phone_number: str | None = None


class ResetStartRequest(RequestModel):
    email: str
    reset_password_redirect_url: str | None = None
    reset_password_expiration_minutes: int | None = None
    code_challenge: str | None = None
    attributes: dict[str, Any] | None = None
    login_redirect_url: str | None = None
    locale: str | None = None
    reset_password_template_id: str | None = None


class ResetByEmailRequest(ExtendingSessionFields):
    token: str
    password: str
    code_verifier: str | None = None
    attributes: dict[str, Any] | None = None
    options: dict[str, Any] | None = None


class ResetByExistingPasswordRequest(ExtendingSessionFields):
    email: str
    existing_password: str
    new_password: str


class ResetBySessionRequest(ExtendingSessionFields):
    password: str
