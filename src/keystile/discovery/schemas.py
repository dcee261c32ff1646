"""Request bodies of the B2B discovery endpoints (PY `b2b/api/discovery_*.py`)."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel


class ListOrganizationsRequest(RequestModel):
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None


class ExchangeRequest(RequestModel):
    intermediate_session_token: str
    organization_id: str
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    telemetry_id: str | None = None


# The Organization policy fields `discovery.organizations.create` passes through to
# `create_organization` (the same names as the Organization object's).
POLICY_FIELDS = (
    "sso_jit_provisioning",
    "email_allowed_domains",
    "email_jit_provisioning",
    "email_invites",
    "auth_methods",
    "allowed_auth_methods",
    "mfa_policy",
    "rbac_email_implicit_role_assignments",
    "mfa_methods",
    "allowed_mfa_methods",
    "oauth_tenant_jit_provisioning",
    "allowed_oauth_tenants",
    "first_party_connected_apps_allowed_type",
    "allowed_first_party_connected_apps",
    "third_party_connected_apps_allowed_type",
    "allowed_third_party_connected_apps",
)


class CreateOrganizationRequest(RequestModel):
    intermediate_session_token: str
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    organization_name: str | None = None
    organization_slug: str | None = None
    organization_external_id: str | None = None
    organization_logo_url: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    sso_jit_provisioning: str | None = None
    email_allowed_domains: list[str] | None = None
    email_jit_provisioning: str | None = None
    email_invites: str | None = None
    auth_methods: str | None = None
    allowed_auth_methods: list[str] | None = None
    mfa_policy: str | None = None
    rbac_email_implicit_role_assignments: list[dict[str, Any]] | None = None
    mfa_methods: str | None = None
    allowed_mfa_methods: list[str] | None = None
    oauth_tenant_jit_provisioning: str | None = None
    allowed_oauth_tenants: dict[str, Any] | None = None
    first_party_connected_apps_allowed_type: str | None = None
    allowed_first_party_connected_apps: list[str] | None = None
    third_party_connected_apps_allowed_type: str | None = None
    allowed_third_party_connected_apps: list[str] | None = None
    telemetry_id: str | None = None

    def settings(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in POLICY_FIELDS if getattr(self, field) is not None}
