"""Request bodies of the SAML connection endpoints (PY `stytch/b2b/api/sso_saml.py`)."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import RequestModel


class CreateConnectionRequest(RequestModel):
    display_name: str | None = None
    identity_provider: str | None = None


class ConnectionRoleAssignment(RequestModel):
    role_id: str


class GroupRoleAssignment(RequestModel):
    role_id: str
    group: str


class UpdateConnectionRequest(RequestModel):
    idp_entity_id: str | None = None
    display_name: str | None = None
    attribute_mapping: dict[str, Any] | None = None
    x509_certificate: str | None = None
    idp_sso_url: str | None = None
    saml_connection_implicit_role_assignments: list[ConnectionRoleAssignment] | None = None
    saml_group_implicit_role_assignments: list[GroupRoleAssignment] | None = None
    alternative_audience_uri: str | None = None
    identity_provider: str | None = None
    signing_private_key: str | None = None
    nameid_format: str | None = None
    alternative_acs_url: str | None = None
    idp_initiated_auth_disabled: bool | None = None
    saml_encryption_private_key: str | None = None
    allow_gateway_callback: bool | None = None


class UpdateByURLRequest(RequestModel):
    metadata_url: str
