from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text, text, true

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

projects = Table(
    "projects",
    metadata,
    Column("project_id", String(80), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("live", Boolean, nullable=False),
    Column("public_token", String(120), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    # A test project's own time, ahead of the server's by this many seconds (`keystile clock`).
    Column("clock_offset_seconds", BigInteger, nullable=False, server_default=text("0")),
    # ISO country codes the project sends SMS and WhatsApp to; NULL: the default (core/phones.py).
    Column("sms_country_codes", JSONType, nullable=True),
    # Emailed links go through keystile's redirect page (ADR 0015) unless this is off.
    Column("email_link_redirect", Boolean, nullable=False, server_default=true()),
    # The password strength policy (core/password_policy.py); NULL: Stytch's default (zxcvbn).
    Column("password_policy", JSONType, nullable=True),
    # The OIDC userinfo endpoint sessions.migrate asks about an external session token; NULL: off.
    Column("session_migration_url", Text, nullable=True),
)

project_secrets = Table(
    "project_secrets",
    metadata,
    Column("secret_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_project_secrets_project_id", "project_id"),
)

redirect_urls = Table(
    "redirect_urls",
    metadata,
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), primary_key=True),
    Column("url", Text, primary_key=True),
    Column("type", String(32), primary_key=True),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("private_key", Text, nullable=False),  # PEM, encrypted with the master key
    Column("public_jwk", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
    Index("ix_signing_keys_project_id", "project_id"),
    # The project's current key (newest unretired), read with every sessions.authenticate:
    # found in the index, in order, instead of sorting the project's keys (migration 0004).
    Index(
        "ix_signing_keys_current",
        "project_id",
        "created_at",
        sqlite_where=text("retired_at IS NULL"),
        postgresql_where=text("retired_at IS NULL"),
    ),
)

__all__ = ["project_secrets", "projects", "rbac_policies", "redirect_urls", "signing_keys"]

# The project's RBAC policy (resources, roles, scopes) as Stytch's rbac.policy returns it.
rbac_policies = Table(
    "rbac_policies",
    metadata,
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), primary_key=True),
    Column("policy", JSONType, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
