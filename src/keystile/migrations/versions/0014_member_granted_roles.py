"""Members' implicitly granted roles (`granted_roles`)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

Roles that an SSO connection, an SSO group or a SCIM group grants a member, each with its
source (`{"role_id", "source": {"type", "details"}}`), kept on the member row so that
serializing a Member (sessions.authenticate) lists them in `roles[].sources` without
another query. Each granting area replaces only the entries of its own source types.
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import JSONType

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("granted_roles", JSONType, nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("granted_roles")
