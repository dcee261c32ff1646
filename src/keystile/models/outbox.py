from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

# Every email and text message keystile sends, written in the transaction that issues the
# token or code it carries.
outbox = Table(
    "outbox",
    metadata,
    Column("message_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    # "email", "sms" or "whatsapp"; a text's to_address is its E.164 number, subject and html empty.
    Column("channel", String(16), nullable=False, server_default="email"),
    Column("to_address", String(320), nullable=False),
    Column("to_normalized", String(320), nullable=False),
    Column("from_address", String(320), nullable=False),
    Column("subject", String(512), nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("links", JSONType, nullable=False, default=list),
    # "pending" (waits for SMTP or Twilio), "sent", "failed", or "inbox" (no deliverer configured for its channel)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    # Claimed by a deliverer: other processes leave it alone until the claim is stale.
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("claimed_by", String(80), nullable=True),
    Index("ix_outbox_to_created", "to_normalized", "created_at"),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
)
