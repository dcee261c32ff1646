"""Members' MFA settings, TOTP registrations and recovery codes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("mfa_enrolled", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.add_column("members", sa.Column("default_mfa_method", sa.String(16), nullable=False, server_default=""))
    op.add_column("members", sa.Column("totp_registration_id", sa.String(80), nullable=True))
    op.create_table(
        "member_totps",
        sa.Column("totp_registration_id", sa.String(80), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("organization_id", sa.String(80), nullable=False),
        sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
        sa.Column("secret", sa.String(512), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_member_totps_member", "member_totps", ["project_id", "member_id"])
    op.create_table(
        "member_recovery_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_member_recovery_codes_member", "member_recovery_codes", ["project_id", "member_id"])


def downgrade() -> None:
    op.drop_index("ix_member_recovery_codes_member", "member_recovery_codes")
    op.drop_table("member_recovery_codes")
    op.drop_index("ix_member_totps_member", "member_totps")
    op.drop_table("member_totps")
    op.drop_column("members", "totp_registration_id")
    op.drop_column("members", "default_mfa_method")
    op.drop_column("members", "mfa_enrolled")
