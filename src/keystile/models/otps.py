from sqlalchemy import Column, ForeignKey, PrimaryKeyConstraint, String, Table

from keystile.models.meta import metadata
from keystile.models.types import UTCDateTime

# Every B2B one-time passcode, whatever carries it: one row per (method, subject), so a new
# send replaces the last. `method` is "sms" (a Member's second factor), "email" (an
# organization login: the subject is the Member) or "email_discovery" (the subject is the
# normalized email address). `destination` is the phone number or email address it was sent
# to. The code is stored hashed; it is accepted once, before `expires_at`, by one conditional
# UPDATE (otps/repository.py).
b2b_otps = Table(
    "b2b_otps",
    metadata,
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("method", String(20), nullable=False),
    Column("subject", String(320), nullable=False),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=True),
    Column("destination", String(320), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("project_id", "method", "subject"),
)
