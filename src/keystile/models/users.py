from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, UniqueConstraint, false

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

users = Table(
    "users",
    metadata,
    Column("user_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("name", JSONType, nullable=True),  # {first_name, middle_name, last_name}
    Column("external_id", String(128), nullable=True),
    Column("trusted_metadata", JSONType, nullable=False, default=dict),
    Column("untrusted_metadata", JSONType, nullable=False, default=dict),
    # The User's `providers` (oauth/ writes them with its registrations): kept on the row so
    # that serializing a User costs no query of its own.
    Column("oauth_providers", JSONType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # User.password, kept here by the passwords area (its hash is in `passwords`): the id of
    # the User's password (NULL: none) and whether it must be reset.
    Column("password_id", String(80), nullable=True),
    Column("password_requires_reset", Boolean, nullable=False, default=False, server_default=false()),
    UniqueConstraint("project_id", "external_id", name="uq_users_project_external_id"),
    Index("ix_users_project_created", "project_id", "created_at"),
)

user_emails = Table(
    "user_emails",
    metadata,
    Column("email_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(80), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("email_normalized", String(320), nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("project_id", "email_normalized", name="uq_user_emails_project_email"),
    Index("ix_user_emails_user_id", "user_id"),
)

# A user's phone numbers, stored in E.164 (core/phones.py normalize), one owner per number.
user_phone_numbers = Table(
    "user_phone_numbers",
    metadata,
    Column("phone_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(80), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("phone_number", String(32), nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("project_id", "phone_number", name="uq_user_phone_numbers_project_number"),
    Index("ix_user_phone_numbers_user_id", "user_id"),
)
