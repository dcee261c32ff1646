"""Request bodies of the Organization endpoints (PY `b2b/api/organizations.py`).

Fields the SDK copies from the path (`organization_id`) are ignored, as are unknown ones.
"""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import RequestModel


class EmailImplicitRoleAssignment(RequestModel):
    domain: str
    role_id: str


class SettingsFields(RequestModel):
    """The auth policy fields `create` and `update` share."""

    sso_jit_provisioning: str | None = None
    email_allowed_domains: list[str] | None = None
    email_jit_provisioning: str | None = None
    email_invites: str | None = None
    auth_methods: str | None = None
    allowed_auth_methods: list[str] | None = None
    mfa_policy: str | None = None
    rbac_email_implicit_role_assignments: list[EmailImplicitRoleAssignment] | None = None
    mfa_methods: str | None = None
    allowed_mfa_methods: list[str] | None = None
    oauth_tenant_jit_provisioning: str | None = None
    allowed_oauth_tenants: dict[str, Any] | None = None
    claimed_email_domains: list[str] | None = None
    first_party_connected_apps_allowed_type: str | None = None
    allowed_first_party_connected_apps: list[str] | None = None
    third_party_connected_apps_allowed_type: str | None = None
    allowed_third_party_connected_apps: list[str] | None = None

    def settings(self) -> dict[str, Any]:
        """The policy fields the caller set (absent and null both mean "not given")."""
        fields = set(SettingsFields.model_fields)
        return {
            name: value
            for name, value in self.model_dump(include=fields, exclude_none=True).items()
            if name in self.model_fields_set
        }


class CreateRequest(SettingsFields):
    # Optional here so that a missing name is `organization_name_missing`, not a generic 400.
    organization_name: str | None = None
    organization_slug: str | None = None
    organization_logo_url: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    organization_external_id: str | None = None


class UpdateRequest(SettingsFields):
    organization_name: str | None = None
    organization_slug: str | None = None
    organization_logo_url: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    organization_external_id: str | None = None
    sso_default_connection_id: str | None = None
    sso_jit_provisioning_allowed_connections: list[str] | None = None

    def settings(self) -> dict[str, Any]:
        given = super().settings()
        for name in ("sso_default_connection_id", "sso_jit_provisioning_allowed_connections"):
            value = getattr(self, name)
            if value is not None:
                given[name] = value
        return given


class SearchRequest(RequestModel):
    cursor: str | None = None
    limit: int | None = None
    query: dict[str, Any] | None = None
