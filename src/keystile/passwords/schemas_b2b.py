"""Request bodies of the B2B password endpoints (PY `b2b/api/passwords*.py`).

Fields the SDK may send but keystile does not act on (template ids, locale, telemetry_id)
are accepted and ignored, as absent optional fields are (reference §1.4).
"""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel
from keystile.passwords.schemas import MigrateFields


class SessionFields(RequestModel):
    """What every B2B password login may pass about the session it starts or extends."""

    session_token: str | None = None
    session_jwt: JwtStr | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    telemetry_id: str | None = None


class AuthenticateRequest(SessionFields):
    organization_id: str
    email_address: str
    password: str
    intermediate_session_token: str | None = None


class StrengthCheckRequest(RequestModel):
    password: str
    email_address: str | None = None


class MigrateRequest(MigrateFields):
    email_address: str
    organization_id: str
    name: str | None = None
    preserve_existing_sessions: bool | None = None
    mfa_phone_number: str | None = None


class EmailResetStartRequest(RequestModel):
    organization_id: str
    email_address: str
    reset_password_redirect_url: str | None = None
    reset_password_expiration_minutes: int | None = None
    code_challenge: str | None = None
    login_redirect_url: str | None = None
    locale: str | None = None
    reset_password_template_id: str | None = None
    verify_email_template_id: str | None = None


class EmailResetRequest(SessionFields):
    password_reset_token: str
    password: str
    code_verifier: str | None = None
    intermediate_session_token: str | None = None


class RequireResetRequest(RequestModel):
    email_address: str
    organization_id: str | None = None
    member_id: str | None = None


class SessionResetRequest(SessionFields):
    organization_id: str
    password: str


class ExistingPasswordResetRequest(SessionFields):
    email_address: str
    existing_password: str
    new_password: str
    organization_id: str


class DiscoveryAuthenticateRequest(RequestModel):
    email_address: str
    password: str


class DiscoveryResetStartRequest(RequestModel):
    email_address: str
    reset_password_redirect_url: str | None = None
    discovery_redirect_url: str | None = None
    reset_password_template_id: str | None = None
    reset_password_expiration_minutes: int | None = None
    pkce_code_challenge: str | None = None
    locale: str | None = None
    verify_email_template_id: str | None = None


class DiscoveryResetRequest(RequestModel):
    password_reset_token: str
    password: str
    pkce_code_verifier: str | None = None
