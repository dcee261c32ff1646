"""One store of one-time passcodes: B2B codes move into `passcodes`, `b2b_otps` goes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

`passcodes` gains `destination` (the phone number or address a B2B code was sent to, which
its authenticate checks). Live B2B codes are not carried over but dropped with `b2b_otps`:
they live minutes (two for SMS, fifteen at most for email), were hashed under the old plain
SHA-256 that the keyed hash replaces, and a new send gives another. A downgrade likewise
drops the B2B codes it finds in `passcodes`.
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

B2B_METHODS = ("sms_otp:%", "email_otp:%", "discovery_otp:%")


def upgrade() -> None:
    with op.batch_alter_table("passcodes") as batch:
        batch.add_column(sa.Column("destination", sa.String(320), nullable=True))
    op.drop_table("b2b_otps")


def downgrade() -> None:
    method_id = sa.column("method_id", sa.String)
    op.execute(sa.table("passcodes", method_id).delete().where(sa.or_(*(method_id.like(p) for p in B2B_METHODS))))
    with op.batch_alter_table("passcodes") as batch:
        batch.drop_column("destination")
    op.create_table(
        "b2b_otps",
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(320), nullable=False),
        sa.Column("member_id", sa.String(80), sa.ForeignKey("members.member_id", ondelete="CASCADE"), nullable=True),
        sa.Column("destination", sa.String(320), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "method", "subject"),
    )
