from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel


class AuthenticateRequest(RequestModel):
    sso_token: str
    pkce_code_verifier: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    intermediate_session_token: str | None = None
    telemetry_id: str | None = None


class OIDCCreateRequest(RequestModel):
    display_name: str | None = None
    identity_provider: str | None = None


class OIDCUpdateRequest(RequestModel):
    display_name: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    issuer: str | None = None
    authorization_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    jwks_url: str | None = None
    identity_provider: str | None = None
    custom_scopes: str | None = None
    attribute_mapping: dict[str, Any] | None = None


class RoleAssignment(RequestModel):
    role_id: str


class GroupRoleAssignment(RequestModel):
    role_id: str
    group: str


class ExternalCreateRequest(RequestModel):
    external_organization_id: str
    external_connection_id: str
    display_name: str | None = None
    connection_implicit_role_assignments: list[RoleAssignment] | None = None
    group_implicit_role_assignments: list[GroupRoleAssignment] | None = None


class ExternalUpdateRequest(RequestModel):
    display_name: str | None = None
    external_connection_implicit_role_assignments: list[RoleAssignment] | None = None
    external_group_implicit_role_assignments: list[GroupRoleAssignment] | None = None
