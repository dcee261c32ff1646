from sqlalchemy import Column, ForeignKey, Index, PrimaryKeyConstraint, String, Table

from keystile.models.meta import metadata
from keystile.models.types import UTCDateTime

# The IDs of SAML Responses and assertions a connection accepted, kept until they expire, so
# that each is accepted once (sso/saml/service.py): a replay, even of an IdP-initiated login
# that no pending request makes single use, finds its ID here. Rows past `expires_at` are
# deleted as new ones arrive.
sso_saml_seen_messages = Table(
    "sso_saml_seen_messages",
    metadata,
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column(
        "connection_id",
        String(96),
        ForeignKey("sso_connections.connection_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("message_id", String(256), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "message_id"),
    Index("ix_sso_saml_seen_messages_expiry", "expires_at"),
)
