"""Consumer users' TOTP registrations and recovery codes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_totps",
        sa.Column("totp_registration_id", sa.String(80), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(80), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("secret", sa.String(512), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_user_totps_user", "user_totps", ["project_id", "user_id"])
    op.create_table(
        "user_recovery_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(80), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_user_recovery_codes_user", "user_recovery_codes", ["project_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_recovery_codes_user", "user_recovery_codes")
    op.drop_table("user_recovery_codes")
    op.drop_index("ix_user_totps_user", "user_totps")
    op.drop_table("user_totps")
