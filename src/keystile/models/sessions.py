from sqlalchemy import Column, ForeignKey, Index, String, Table

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

# B2B member sessions (member_id + organization_id) and consumer sessions (user_id).
sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # "b2b" | "consumer"
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=True),
    Column("organization_id", String(80), nullable=True),
    Column("user_id", String(80), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=True),
    Column("authentication_factors", JSONType, nullable=False, default=list),
    Column("custom_claims", JSONType, nullable=False, default=dict),
    Column("attributes", JSONType, nullable=False, default=dict),
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_accessed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_sessions_member_id", "member_id"),
    Index("ix_sessions_user_id", "user_id"),
)
