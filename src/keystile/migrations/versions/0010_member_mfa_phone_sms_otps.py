"""Members' MFA phone numbers and their SMS one-time passcodes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("mfa_phone_number", sa.String(32), nullable=False, server_default=""))
    op.add_column(
        "members",
        sa.Column("mfa_phone_number_verified", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.create_table(
        "member_sms_otps",
        sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("phone_number", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("member_sms_otps")
    op.drop_column("members", "mfa_phone_number_verified")
    op.drop_column("members", "mfa_phone_number")
