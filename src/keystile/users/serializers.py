"""Stytch's consumer User object (PY `consumer/models/users.py` `User`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keystile.core.clock import rfc3339
from keystile.core.db import Record

NAME_FIELDS = ("first_name", "middle_name", "last_name")


def name_json(name: dict[str, Any] | None) -> dict[str, str]:
    name = name or {}
    return {field: name.get(field) or "" for field in NAME_FIELDS}


def email_json(row: Record) -> dict[str, Any]:
    return {"email_id": row.email_id, "email": row.email, "verified": row.verified}


def phone_json(row: Record) -> dict[str, Any]:
    return {"phone_id": row.phone_id, "phone_number": row.phone_number, "verified": row.verified}


def password_json(row: Record) -> dict[str, Any] | None:
    """User.password, kept on the user row by the passwords area (None: no password)."""
    password_id = getattr(row, "password_id", None)
    if not password_id:
        return None
    return {"password_id": password_id, "requires_reset": bool(getattr(row, "password_requires_reset", False))}


def user_json(
    row: Record, emails: Sequence[Record], totps: Sequence[Record] = (), phones: Sequence[Record] = ()
) -> dict[str, Any]:
    """Every required field of `User`; keystile has no WebAuthn, OAuth, wallets, biometrics
    for consumers yet, so those are empty. `totps`: rows of
    `repository.totps_of`; `phones`: of `repository.phones_of`."""
    return {
        "user_id": row.user_id,
        "emails": [email_json(e) for e in emails],
        "status": row.status,
        "phone_numbers": [phone_json(p) for p in phones],
        "webauthn_registrations": [],
        "providers": row.oauth_providers or [],
        "totps": [{"totp_id": t.totp_registration_id, "verified": t.verified} for t in totps],
        "crypto_wallets": [],
        "biometric_registrations": [],
        "is_locked": False,
        "roles": [],
        "name": name_json(row.name),
        "created_at": rfc3339(row.created_at),
        "password": password_json(row),
        "trusted_metadata": row.trusted_metadata or {},
        "untrusted_metadata": row.untrusted_metadata or {},
        "external_id": row.external_id,
        "lock_created_at": None,
        "lock_expires_at": None,
    }
