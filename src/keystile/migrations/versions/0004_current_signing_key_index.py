"""The project's current signing key is found by an index

`sessions.authenticate` reads the project's newest unretired signing key with every
session (the JWT cache is keyed by it, so a rotation takes effect at once). A partial
index on (project_id, created_at) for unretired keys gives it in order, where both
databases sorted the project's keys each time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_signing_keys_current",
        "signing_keys",
        ["project_id", "created_at"],
        sqlite_where=sa.text("retired_at IS NULL"),
        postgresql_where=sa.text("retired_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_signing_keys_current", table_name="signing_keys")
