from sqlalchemy import Column, ForeignKey, Index, String, Table

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

# Every SSO connection of an organization, whatever its kind (sso/): `kind` is "oidc", "saml"
# or "external". `config` holds the kind's readable settings (an OIDC connection's issuer,
# client id and endpoints; an external connection's source organization and connection), as
# the kind's module writes and reads them; `secrets` holds what must be read back but never
# stored in the clear (an OIDC client secret, a SAML encryption private key), each value
# sealed with the master key bound to the connection and the secret's name
# (sso/repository.py seal / unseal). A kind needing rows of its own (SAML certificates that
# rotate with overlap) adds a table keyed by connection_id.
sso_connections = Table(
    "sso_connections",
    metadata,
    Column("connection_id", String(96), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column(
        "organization_id",
        String(80),
        ForeignKey("organizations.organization_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # pending | active
    Column("display_name", String(256), nullable=False, default=""),
    Column("identity_provider", String(64), nullable=False, default="generic"),
    Column("config", JSONType, nullable=False, default=dict),
    Column("secrets", JSONType, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_sso_connections_organization", "project_id", "organization_id"),
)
