from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

# Every single-use secret: magic links (discovery, organization, consumer, invite) and
# intermediate sessions. Only the SHA-256 of the token is kept.
tokens = Table(
    "tokens",
    metadata,
    Column("token_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("email", String(320), nullable=True),
    Column("organization_id", String(80), nullable=True),
    Column("member_id", String(80), nullable=True),
    Column("user_id", String(80), nullable=True),
    Column("email_id", String(80), nullable=True),
    Column("pkce_challenge", String(128), nullable=True),
    Column("data", JSONType, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    # Where an emailed link leads: the app's URL with its query, without the token (ADR 0015).
    Column("link_url", Text, nullable=True),
    # Why a token was made unusable other than by its redemption: revoked, superseded.
    Column("void_reason", String(16), nullable=True),
    Index("ix_tokens_project_kind_email", "project_id", "kind", "email"),
)
