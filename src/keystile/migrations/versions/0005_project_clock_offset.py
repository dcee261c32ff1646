"""A test project's clock offset

`keystile clock advance` moves a test project's time ahead of the server's; the offset is
kept with the project, read with its secrets when a request authenticates, so every
process and the CLI agree on it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases: a batch operation would copy `projects` on SQLite,
# and dropping the old copy would cascade to every table that refers to it.
def upgrade() -> None:
    op.add_column(
        "projects", sa.Column("clock_offset_seconds", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
    )


def downgrade() -> None:
    op.drop_column("projects", "clock_offset_seconds")
