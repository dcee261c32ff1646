from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table

from keystile.models.meta import metadata
from keystile.models.types import UTCDateTime

# A Member's TOTP registrations: the secret encrypted with the master key (core/keys.py),
# `verified` once a code proved the authenticator holds it, and the last time step a code
# was accepted for, so no code is accepted twice.
member_totps = Table(
    "member_totps",
    metadata,
    Column("totp_registration_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("organization_id", String(80), nullable=False),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    Column("secret", String(512), nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("last_step", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Index("ix_member_totps_member", "project_id", "member_id"),
)

# Recovery codes of a Member's TOTP: each encrypted (recovery_codes.get shows them) and
# hashed (recover finds one by one conditional UPDATE), single use.
member_recovery_codes = Table(
    "member_recovery_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("code", String(256), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index("ix_member_recovery_codes_member", "project_id", "member_id"),
)

# A consumer User's TOTP registrations, as member_totps is a Member's (same columns, keyed by
# user). The users area reads them for the User object's `totps`; the totps area writes them.
user_totps = Table(
    "user_totps",
    metadata,
    Column("totp_registration_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(80), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("secret", String(512), nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("last_step", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Index("ix_user_totps_user", "project_id", "user_id"),
)

# Recovery codes of a User's TOTP, as member_recovery_codes are a Member's.
user_recovery_codes = Table(
    "user_recovery_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(80), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("code", String(256), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index("ix_user_recovery_codes_user", "project_id", "user_id"),
)
