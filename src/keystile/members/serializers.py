"""Stytch's Member object (PY `b2b/models/organizations.py` `Member`)."""

from __future__ import annotations

from typing import Any

from keystile.core.clock import rfc3339


def member_roles(row: Any) -> list[dict[str, Any]]:
    """`stytch_member` for everyone, then the directly assigned roles."""
    role_ids = ["stytch_member", *[r for r in (row.roles or []) if r != "stytch_member"]]
    return [{"role_id": r, "sources": [{"type": "direct_assignment", "details": {}}]} for r in role_ids]


def role_ids(row: Any) -> list[str]:
    return [r["role_id"] for r in member_roles(row)]


def member_json(row: Any) -> dict[str, Any]:
    return {
        "organization_id": row.organization_id,
        "member_id": row.member_id,
        "email_address": row.email,
        "status": row.status,
        "name": row.name or "",
        "sso_registrations": [],
        "is_breakglass": row.is_breakglass,
        "member_password_id": "",
        "oauth_registrations": [],
        "email_address_verified": row.email_address_verified,
        "mfa_phone_number_verified": False,
        "is_admin": "stytch_admin" in (row.roles or []),
        "totp_registration_id": "",
        "retired_email_addresses": [],
        "is_locked": False,
        "mfa_enrolled": False,
        "mfa_phone_number": "",
        "default_mfa_method": "",
        "roles": member_roles(row),
        "trusted_metadata": row.trusted_metadata or {},
        "untrusted_metadata": row.untrusted_metadata or {},
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "scim_registration": None,
        "external_id": row.external_id,
        "lock_created_at": None,
        "lock_expires_at": None,
    }
