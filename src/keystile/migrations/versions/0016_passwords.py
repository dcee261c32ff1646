"""Passwords: one table of hashes for users and members, the User's password and the
Member's member_password_id on their rows, and each project's password strength policy

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import JSONType, UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passwords",
        sa.Column("password_id", sa.String(80), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(80), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=True),
        sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=True),
        sa.Column("scheme", sa.String(16), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("config", JSONType, nullable=True),
        sa.Column("requires_reset", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", name="uq_passwords_user_id"),
        sa.UniqueConstraint("member_id", name="uq_passwords_member_id"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_id", sa.String(80), nullable=True))
        batch.add_column(sa.Column("password_requires_reset", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("member_password_id", sa.String(80), nullable=True))
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("password_policy", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("password_policy")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("member_password_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_requires_reset")
        batch.drop_column("password_id")
    op.drop_table("passwords")
