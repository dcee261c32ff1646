"""Request bodies of impersonation.authenticate (PY `b2b/api/impersonation.py`, `consumer/api/impersonation.py`)."""

from __future__ import annotations

from pydantic import BaseModel


class AuthenticateRequest(BaseModel):
    impersonation_token: str
