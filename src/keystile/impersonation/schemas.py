"""Request bodies of impersonation.authenticate (PY `b2b/api/impersonation.py`, `consumer/api/impersonation.py`)."""

from __future__ import annotations

from keystile.core.schemas import RequestModel


class AuthenticateRequest(RequestModel):
    impersonation_token: str
