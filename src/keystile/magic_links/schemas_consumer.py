"""Request bodies of the consumer magic link API (PY `consumer/api/magic_links*.py`).

Fields keystile accepts without acting on (templates, locale, attributes, telemetry) are
declared so the SDK's requests parse; anything else is ignored."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel
from keystile.users.schemas import NameIn


class LoginOrCreateRequest(RequestModel):
    email: str
    login_magic_link_url: str | None = None
    signup_magic_link_url: str | None = None
    login_expiration_minutes: int | None = None
    signup_expiration_minutes: int | None = None
    login_template_id: str | None = None
    signup_template_id: str | None = None
    attributes: dict[str, Any] | None = None
    create_user_as_pending: bool | None = None
    code_challenge: str | None = None
    locale: str | None = None


class SendRequest(RequestModel):
    email: str
    login_magic_link_url: str | None = None
    signup_magic_link_url: str | None = None
    login_expiration_minutes: int | None = None
    signup_expiration_minutes: int | None = None
    login_template_id: str | None = None
    signup_template_id: str | None = None
    attributes: dict[str, Any] | None = None
    code_challenge: str | None = None
    user_id: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    locale: str | None = None


class InviteRequest(RequestModel):
    email: str
    invite_template_id: str | None = None
    attributes: dict[str, Any] | None = None
    name: NameIn | None = None
    invite_magic_link_url: str | None = None
    invite_expiration_minutes: int | None = None
    locale: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None


class RevokeInviteRequest(RequestModel):
    email: str


class CreateRequest(RequestModel):
    user_id: str
    expiration_minutes: int | None = None
    attributes: dict[str, Any] | None = None


class Options(RequestModel):
    ip_match_required: bool | None = None
    user_agent_match_required: bool | None = None


class AuthenticateRequest(RequestModel):
    token: str
    attributes: dict[str, Any] | None = None
    options: Options | None = None
    session_token: str | None = None
    session_duration_minutes: int | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
    code_verifier: str | None = None
    telemetry_id: str | None = None
