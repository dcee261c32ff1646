"""The tokens OIDC connections' IdPs give Members (organizations.members.oidc_providers)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import JSONType, UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_oidc_tokens",
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "connection_id",
            sa.String(96),
            sa.ForeignKey("sso_connections.connection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider_subject", sa.String(255), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("scopes", JSONType, nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "connection_id", name="pk_sso_oidc_tokens"),
    )
    op.create_index("ix_sso_oidc_tokens_project_member", "sso_oidc_tokens", ["project_id", "member_id"])


def downgrade() -> None:
    op.drop_index("ix_sso_oidc_tokens_project_member", table_name="sso_oidc_tokens")
    op.drop_table("sso_oidc_tokens")
