"""Consumer users' phone numbers and one-time passcodes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_phone_numbers",
        sa.Column("phone_id", sa.String(80), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(80), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("phone_number", sa.String(32), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "phone_number", name="uq_user_phone_numbers_project_number"),
    )
    op.create_index("ix_user_phone_numbers_user_id", "user_phone_numbers", ["user_id"])
    op.create_table(
        "passcodes",
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("method_id", sa.String(80), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("wrong_tries", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "method_id", name="pk_passcodes"),
    )


def downgrade() -> None:
    op.drop_table("passcodes")
    op.drop_index("ix_user_phone_numbers_user_id", "user_phone_numbers")
    op.drop_table("user_phone_numbers")
