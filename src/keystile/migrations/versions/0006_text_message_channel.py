"""Text messages in the outbox, and the countries a project texts

The outbox carries SMS and WhatsApp messages beside emails: each row says its `channel`
(every existing row is an email). Projects gain `sms_country_codes`, the ISO country codes
they send texts to; NULL keeps keystile's default (core/phones.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases: a batch operation would copy the table on SQLite, and
# dropping the old `projects` would cascade to every table that refers to it.
def upgrade() -> None:
    op.add_column("outbox", sa.Column("channel", sa.String(length=16), nullable=False, server_default="email"))
    op.add_column(
        "projects",
        sa.Column(
            "sms_country_codes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("projects", "sms_country_codes")
    op.drop_column("outbox", "channel")
