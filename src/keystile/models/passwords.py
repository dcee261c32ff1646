"""Password hashes of consumer users and B2B members (the passwords area).

One row per password. A password is either keystile's own (`scheme` = "argon2id", `hash` the
PHC string argon2-cffi writes) or one brought in by passwords.migrate / `keystile import`
(`scheme` = Stytch's `hash_type`, `hash` as given, `config` the salts and parameters of that
type), verified as such at the first login and then re-hashed with argon2id.

The User's `password` and the Member's `member_password_id` are also kept on the user / member
row (written through users/repository.py and members/repository.py), so serializing either
never reads this table.
"""

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, Text, UniqueConstraint

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

passwords = Table(
    "passwords",
    metadata,
    Column("password_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    # Exactly one of user_id / member_id is set.
    Column("user_id", String(80), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=True),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=True),
    Column("scheme", String(16), nullable=False),
    Column("hash", Text, nullable=False),
    Column("config", JSONType, nullable=True),
    # Set by require_reset, or when a login found the password breached.
    Column("requires_reset", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", name="uq_passwords_user_id"),
    UniqueConstraint("member_id", name="uq_passwords_member_id"),
)
