"""SAML: the IDs of accepted Responses and assertions, remembered until they expire

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03

A SAML Response or assertion is accepted once (sso/saml/service.py): its IDs go into
`sso_saml_seen_messages` under a unique key, so a replay of the same post is refused.
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_saml_seen_messages",
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "connection_id",
            sa.String(96),
            sa.ForeignKey("sso_connections.connection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("message_id", sa.String(256), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "message_id"),
    )
    op.create_index("ix_sso_saml_seen_messages_expiry", "sso_saml_seen_messages", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sso_saml_seen_messages_expiry", table_name="sso_saml_seen_messages")
    op.drop_table("sso_saml_seen_messages")
