from sqlalchemy import BigInteger, Column, ForeignKey, PrimaryKeyConstraint, String, Table

from keystile.models.meta import metadata
from keystile.models.types import UTCDateTime

# One-time passcodes sent by text or email (core/passcodes.py), consumer and B2B alike: at
# most one live code per project and method (a consumer phone_id or email_id, or a B2B
# "sms_otp:<member_id>", "email_otp:<member_id>" or "discovery_otp:<address digest>"),
# stored hashed; a new send replaces the row. `destination` is the phone number or address a
# B2B code went to, which its authenticate checks (NULL for consumer codes).
passcodes = Table(
    "passcodes",
    metadata,
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("method_id", String(80), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("channel", String(16), nullable=False),  # how it was sent: sms, whatsapp or email
    Column("destination", String(320), nullable=True),
    Column("wrong_tries", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("project_id", "method_id", name="pk_passcodes"),
)
