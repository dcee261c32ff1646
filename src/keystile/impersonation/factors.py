"""The factor an impersonated session holds, its only one (PY `consumer/models/sessions.py`
AuthenticationFactor: `impersonated` – only `impersonation`; ImpersonatedFactor)."""

from __future__ import annotations

from keystile.core.area import Factor
from keystile.sessions.service import IMPERSONATED

IMPERSONATED_FACTOR = Factor(IMPERSONATED, "impersonation")
