"""Request bodies of the Member endpoints (PY `b2b/api/organizations_members.py`).

Fields the SDK copies from the path (`organization_id`, `member_id`) are ignored.
"""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import RequestModel


class CreateRequest(RequestModel):
    email_address: str
    name: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    create_member_as_pending: bool | None = None
    is_breakglass: bool | None = None
    mfa_phone_number: str | None = None
    mfa_enrolled: bool | None = None
    roles: list[str] | None = None
    external_id: str | None = None


class UpdateRequest(RequestModel):
    name: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    is_breakglass: bool | None = None
    mfa_phone_number: str | None = None
    mfa_enrolled: bool | None = None
    roles: list[str] | None = None
    preserve_existing_sessions: bool | None = None
    default_mfa_method: str | None = None
    email_address: str | None = None
    external_id: str | None = None
    unlink_email: bool | None = None


class SearchRequest(RequestModel):
    organization_ids: list[str] | None = None
    cursor: str | None = None
    limit: int | None = None
    query: dict[str, Any] | None = None


class UnlinkRetiredEmailRequest(RequestModel):
    email_id: str | None = None
    email_address: str | None = None


class StartEmailUpdateRequest(RequestModel):
    email_address: str
    login_redirect_url: str | None = None
    locale: str | None = None
    login_template_id: str | None = None
    delivery_method: str | None = None
