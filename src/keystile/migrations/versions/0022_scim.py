"""SCIM: connections, groups and group members; a member's SCIM registration and an
organization's active SCIM connection, kept on their rows

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import JSONType, UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scim_connections",
        sa.Column("connection_id", sa.String(80), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "organization_id",
            sa.String(80),
            sa.ForeignKey("organizations.organization_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("identity_provider", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token_last_four", sa.String(4), nullable=False),
        sa.Column("token_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_token_hash", sa.String(64), nullable=True),
        sa.Column("next_token_last_four", sa.String(4), nullable=False),
        sa.Column("next_token_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("group_role_assignments", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scim_connections_organization", "scim_connections", ["project_id", "organization_id"])
    op.create_table(
        "scim_groups",
        sa.Column("group_id", sa.String(80), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("organization_id", sa.String(80), nullable=False),
        sa.Column(
            "connection_id",
            sa.String(80),
            sa.ForeignKey("scim_connections.connection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("display_name_normalized", sa.String(256), nullable=False),
        sa.Column("external_id", sa.String(256), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("connection_id", "display_name_normalized", name="uq_scim_groups_connection_display_name"),
    )
    op.create_table(
        "scim_group_members",
        sa.Column(
            "group_id", sa.String(80), sa.ForeignKey("scim_groups.group_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("display", sa.String(256), nullable=True),
    )
    op.create_index("ix_scim_group_members_member", "scim_group_members", ["member_id"])
    op.add_column("members", sa.Column("scim_registration", JSONType, nullable=True))
    op.add_column("organizations", sa.Column("scim_active_connection", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("scim_active_connection")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("scim_registration")
    op.drop_index("ix_scim_group_members_member", "scim_group_members")
    op.drop_table("scim_group_members")
    op.drop_table("scim_groups")
    op.drop_index("ix_scim_connections_organization", "scim_connections")
    op.drop_table("scim_connections")
