"""Emailed links go through keystile's redirect page; tokens say why they are void

Every emailed link leads to `/v1/magic_links/redirect` on keystile (ADR 0015), which forwards
a person's browser to the app: the token row keeps where (`link_url`, the app's URL with its
query, without the token). A project may turn the step off (`projects.email_link_redirect`).
A token made unusable other than by redemption records why (`void_reason`: revoked or
superseded), so an error can say so.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("email_link_redirect", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("link_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("void_reason", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("void_reason")
        batch.drop_column("link_url")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("email_link_redirect")
