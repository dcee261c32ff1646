"""The factor of a session that sessions.migrate brought in from another provider (PY
`consumer/models/sessions.py` AuthenticationFactor: `imported` – only `imported_auth0`, the one
delivery method the SDKs' models accept for it)."""

from __future__ import annotations

from keystile.core.area import Factor

IMPORTED = Factor("imported", "imported_auth0")
