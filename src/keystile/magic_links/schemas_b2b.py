"""Request bodies of the B2B email magic link endpoints (PY `b2b/api/magic_links*.py`).

Fields the SDK may send but keystile does not act on (template ids, locale, telemetry_id)
are accepted and ignored, as absent optional fields are (reference §1.4).
"""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel


class DiscoverySendRequest(RequestModel):
    email_address: str
    discovery_redirect_url: str | None = None
    pkce_code_challenge: str | None = None
    login_template_id: str | None = None
    locale: str | None = None
    discovery_expiration_minutes: int | None = None


class DiscoveryAuthenticateRequest(RequestModel):
    discovery_magic_links_token: str
    pkce_code_verifier: str | None = None


class LoginOrSignupRequest(RequestModel):
    organization_id: str
    email_address: str
    login_redirect_url: str | None = None
    signup_redirect_url: str | None = None
    pkce_code_challenge: str | None = None
    login_template_id: str | None = None
    signup_template_id: str | None = None
    locale: str | None = None
    login_expiration_minutes: int | None = None
    signup_expiration_minutes: int | None = None


class InviteRequest(RequestModel):
    organization_id: str
    email_address: str
    invite_redirect_url: str | None = None
    invited_by_member_id: str | None = None
    name: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    invite_template_id: str | None = None
    locale: str | None = None
    roles: list[str] | None = None
    invite_expiration_minutes: int | None = None


class AuthenticateRequest(RequestModel):
    magic_links_token: str
    pkce_code_verifier: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    intermediate_session_token: str | None = None
    telemetry_id: str | None = None
