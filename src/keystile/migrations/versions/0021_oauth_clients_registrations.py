"""OAuth: projects' clients at providers, users' and Members' provider registrations

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

Users gain `oauth_providers`, their `providers` as the User object lists them, written with
each registration so that serializing a User reads no other table.
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import JSONType, UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(512), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=False),
        sa.Column("settings", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "provider", name="pk_oauth_clients"),
    )
    op.create_table(
        "oauth_registrations",
        sa.Column("registration_id", sa.String(100), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_subject", sa.String(255), nullable=False),
        sa.Column("owner_id", sa.String(80), nullable=False),
        sa.Column("user_id", sa.String(80), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=True),
        sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=True),
        sa.Column("organization_id", sa.String(80), nullable=True),
        sa.Column("profile", JSONType, nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("scopes", JSONType, nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "provider", "owner_id", name="uq_oauth_registrations_owner"),
    )
    op.create_index(
        "ix_oauth_registrations_subject", "oauth_registrations", ["project_id", "provider", "provider_subject"]
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("oauth_providers", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("oauth_providers")
    op.drop_index("ix_oauth_registrations_subject", "oauth_registrations")
    op.drop_table("oauth_registrations")
    op.drop_table("oauth_clients")
