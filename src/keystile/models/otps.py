from sqlalchemy import Column, ForeignKey, String, Table

from keystile.models.meta import metadata
from keystile.models.types import UTCDateTime

# A Member's SMS passcode: at most one per Member (the primary key), so a new send replaces
# the last. The code is stored hashed; it is accepted once, before `expires_at`, and dies
member_sms_otps = Table(
    "member_sms_otps",
    metadata,
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("phone_number", String(32), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)
