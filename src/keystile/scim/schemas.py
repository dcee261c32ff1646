"""Request bodies of the SCIM connection endpoints (PY `b2b/api/scim_connection.py`)."""

from __future__ import annotations

from keystile.core.schemas import RequestModel


class CreateRequest(RequestModel):
    display_name: str | None = None
    identity_provider: str | None = None


class GroupRoleAssignment(RequestModel):
    role_id: str
    group_id: str
    group_name: str | None = None


class UpdateRequest(RequestModel):
    display_name: str | None = None
    identity_provider: str | None = None
    scim_group_implicit_role_assignments: list[GroupRoleAssignment] | None = None


class RotateRequest(RequestModel):
    """rotate_start / rotate_complete / rotate_cancel: the SDK sends only the path's ids."""
