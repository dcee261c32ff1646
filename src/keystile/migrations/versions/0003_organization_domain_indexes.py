"""Organization search by allowed or claimed email domain is index-backed on PostgreSQL

GIN indexes on the two JSONB arrays inside `organizations.settings`, matching the
expressions `organizations/service.py` searches with (`settings -> 'key' ?| ARRAY[…]`).
SQLite keeps scanning with json_each: it is the embedded, single-node database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_organizations_allowed_domains": "email_allowed_domains",
    "ix_organizations_claimed_domains": "claimed_email_domains",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, key in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON organizations USING gin ((settings -> '{key}'))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
