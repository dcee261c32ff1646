"""SCIM connections, the groups their directories push, and who is in each group (scim/)."""

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

scim_connections = Table(
    "scim_connections",
    metadata,
    Column("connection_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column(
        "organization_id", String(80), ForeignKey("organizations.organization_id", ondelete="CASCADE"), nullable=False
    ),
    Column("status", String(16), nullable=False),
    Column("display_name", String(256), nullable=False, default=""),
    Column("identity_provider", String(32), nullable=False),
    # The bearer token's SHA-256 (core/crypto.py), and during a rotation the next one's.
    Column("token_hash", String(64), nullable=False),
    Column("token_last_four", String(4), nullable=False),
    Column("token_expires_at", UTCDateTime, nullable=True),
    Column("next_token_hash", String(64), nullable=True),
    Column("next_token_last_four", String(4), nullable=False, default=""),
    Column("next_token_expires_at", UTCDateTime, nullable=True),
    # [{"group_id", "role_id"}]: members of the group hold the role (scim_connection_group).
    Column("group_role_assignments", JSONType, nullable=False, default=list),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_scim_connections_organization", "project_id", "organization_id"),
)

scim_groups = Table(
    "scim_groups",
    metadata,
    Column("group_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("organization_id", String(80), nullable=False),
    Column(
        "connection_id", String(80), ForeignKey("scim_connections.connection_id", ondelete="CASCADE"), nullable=False
    ),
    Column("display_name", String(256), nullable=False),
    Column("display_name_normalized", String(256), nullable=False),
    Column("external_id", String(256), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("connection_id", "display_name_normalized", name="uq_scim_groups_connection_display_name"),
)

scim_group_members = Table(
    "scim_group_members",
    metadata,
    Column("group_id", String(80), ForeignKey("scim_groups.group_id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    # The member's `display` as the directory sent it in the group's members.
    Column("display", String(256), nullable=True),
    Index("ix_scim_group_members_member", "member_id"),
)
