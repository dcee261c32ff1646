from sqlalchemy import Column, ForeignKey, Index, PrimaryKeyConstraint, String, Table, Text

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

# The tokens an OIDC connection's IdP gave a Member at its last login through it
# (organizations.members.oidc_providers): the access, refresh and ID tokens sealed with the
# master key, each bound to the Member, the connection and its name (sso/oidc_tokens.py);
# one row per Member and connection, replaced by each login and by each refresh.
sso_oidc_tokens = Table(
    "sso_oidc_tokens",
    metadata,
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    Column(
        "connection_id", String(96), ForeignKey("sso_connections.connection_id", ondelete="CASCADE"), nullable=False
    ),
    Column("provider_subject", String(255), nullable=False),
    Column("access_token", Text, nullable=True),
    Column("refresh_token", Text, nullable=True),
    Column("id_token", Text, nullable=True),
    Column("scopes", JSONType, nullable=False, default=list),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("member_id", "connection_id", name="pk_sso_oidc_tokens"),
    Index("ix_sso_oidc_tokens_project_member", "project_id", "member_id"),
)
