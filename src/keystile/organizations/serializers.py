"""Stytch's Organization object (PY `b2b/models/organizations.py` `Organization`)."""

from __future__ import annotations

from typing import Any

from keystile.core.clock import rfc3339
from keystile.core.db import Record
from keystile.organizations.repository import settings_of


def organization_json(row: Record) -> dict[str, Any]:
    settings = settings_of(row)
    return {
        "organization_id": row.organization_id,
        "organization_name": row.name,
        "organization_logo_url": row.logo_url or "",
        "organization_slug": row.slug,
        "organization_external_id": row.external_id,
        "trusted_metadata": row.trusted_metadata or {},
        "sso_active_connections": list(getattr(row, "sso_active_connections", None) or []),
        # Kept on the row by the scim area (PY `ActiveSCIMConnection`), None without one.
        "scim_active_connection": getattr(row, "scim_active_connection", None) or None,
        **settings,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }
