"""Stytch's Member object (PY `b2b/models/organizations.py` `Member`)."""

from __future__ import annotations

from typing import Any

from keystile.core import emails
from keystile.core.clock import rfc3339
from keystile.core.db import Record


def member_roles(row: Record, organization: Record | None = None) -> list[dict[str, Any]]:
    """`stytch_member` for everyone, the directly assigned roles, then the roles the
    organization grants by email domain (`rbac_email_implicit_role_assignments`), then those
    granted by SSO and SCIM (`granted_roles`); a role held several ways lists each source
    (PY `MemberRole.sources`). Without the organization
    row, email-granted roles cannot be known and are left out."""
    direct = {"type": "direct_assignment", "details": {}}
    sources: dict[str, list[dict[str, Any]]] = {"stytch_member": [direct]}
    for role in row.roles or []:
        sources.setdefault(role, [direct])
    settings = (getattr(organization, "settings", None) or {}) if organization is not None else {}
    domain = emails.domain(row.email) if row.email else ""
    for assignment in settings.get("rbac_email_implicit_role_assignments") or []:
        if isinstance(assignment, dict) and str(assignment.get("domain", "")).lower() == domain:
            granted = {"type": "email_assignment", "details": {"email_domain": domain}}
            sources.setdefault(assignment.get("role_id", ""), []).append(granted)
    # Roles an SSO connection, SSO group or SCIM group grants (members/repository.py
    # replace_granted_roles), kept on the row: no query of their own.
    for entry in getattr(row, "granted_roles", None) or []:
        source = entry.get("source") or {}
        sources.setdefault(entry.get("role_id", ""), []).append(
            {"type": source.get("type", ""), "details": source.get("details") or {}}
        )
    return [{"role_id": r, "sources": s} for r, s in sources.items() if r]


def scim_registration_json(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """PY `SCIMRegistration` from what the scim area keeps on the row (its own keys left out);
    None for a member no directory manages."""
    if not stored or not stored.get("connection_id"):
        return None
    return {
        "connection_id": stored["connection_id"],
        "registration_id": stored.get("registration_id", ""),
        "external_id": stored.get("external_id"),
        "scim_attributes": stored.get("scim_attributes"),
    }


def role_ids(row: Record, organization: Record | None = None, roles: list[dict[str, Any]] | None = None) -> list[str]:
    """The member's role ids; `roles`: `member_roles(row, organization)` if already known."""
    return [r["role_id"] for r in (member_roles(row, organization) if roles is None else roles)]


OAUTH_REGISTRATION_FIELDS = ("provider_type", "provider_subject", "member_oauth_registration_id")


def oauth_registrations_json(stored: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Member.oauth_registrations (PY `OAuthRegistration`) from the row's list, which may keep
    more per entry (the provider's tenant ids) than the object shows."""
    return [
        {
            **{name: entry.get(name, "") for name in OAUTH_REGISTRATION_FIELDS},
            "profile_picture_url": entry.get("profile_picture_url") or None,
            "locale": entry.get("locale") or None,
        }
        for entry in stored or []
        if isinstance(entry, dict)
    ]


def member_json(
    row: Record,
    organization: Record | None = None,
    retired: list[dict[str, str]] | None = None,
    *,
    roles: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`retired`: the Member's retired addresses (`repository.retired_emails`); callers that
    did not load them show none. `roles`: `member_roles(row, organization)` if already known."""
    return {
        "organization_id": row.organization_id,
        "member_id": row.member_id,
        "email_address": row.email,
        "status": row.status,
        "name": row.name or "",
        "sso_registrations": list(getattr(row, "sso_registrations", None) or []),
        "is_breakglass": row.is_breakglass,
        "member_password_id": getattr(row, "member_password_id", None) or "",
        "oauth_registrations": oauth_registrations_json(getattr(row, "oauth_registrations", None)),
        "email_address_verified": row.email_address_verified,
        "mfa_phone_number_verified": bool(getattr(row, "mfa_phone_number_verified", False)),
        "is_admin": "stytch_admin" in (row.roles or []),
        "totp_registration_id": getattr(row, "totp_registration_id", None) or "",
        "retired_email_addresses": list(retired or []),
        "is_locked": False,
        "mfa_enrolled": bool(getattr(row, "mfa_enrolled", False)),
        "mfa_phone_number": getattr(row, "mfa_phone_number", None) or "",
        "default_mfa_method": getattr(row, "default_mfa_method", None) or "",
        "roles": member_roles(row, organization) if roles is None else roles,
        "trusted_metadata": row.trusted_metadata or {},
        "untrusted_metadata": row.untrusted_metadata or {},
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "scim_registration": scim_registration_json(getattr(row, "scim_registration", None)),
        "external_id": row.external_id,
        "lock_created_at": None,
        "lock_expires_at": None,
    }
