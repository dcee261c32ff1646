"""SSO connections, the organizations' active connections and the members' SSO registrations

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

`sso_connections` holds every connection (OIDC, SAML, external) of an organization.
`organizations.sso_active_connections` and `members.sso_registrations` keep what Stytch's
Organization and Member objects list on the row itself, so serializing them costs no query.
"""

import sqlalchemy as sa
from alembic import op

from keystile.models.types import JSONType, UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_connections",
        sa.Column("connection_id", sa.String(96), primary_key=True),
        sa.Column(
            "project_id", sa.String(80), sa.ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "organization_id",
            sa.String(80),
            sa.ForeignKey("organizations.organization_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("identity_provider", sa.String(64), nullable=False),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("secrets", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sso_connections_organization", "sso_connections", ["project_id", "organization_id"])
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("sso_active_connections", JSONType, nullable=False, server_default="[]"))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("sso_registrations", JSONType, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("sso_registrations")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("sso_active_connections")
    op.drop_index("ix_sso_connections_organization", table_name="sso_connections")
    op.drop_table("sso_connections")
