"""OAuth: each project's client at each provider, and the provider tokens of users and Members."""

from sqlalchemy import Column, ForeignKey, Index, PrimaryKeyConstraint, String, Table, Text, UniqueConstraint

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

# A project's OAuth client at one provider (oauth/providers.py names the providers).
# `client_secret` is sealed with the master key (core/keys.py MasterKey.seal); `settings` holds
# the provider's overridden endpoints and scopes ({"token_url": …, "scopes": [...]}).
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("client_id", String(512), nullable=False),
    Column("client_secret", Text, nullable=False),
    Column("settings", JSONType, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("project_id", "provider", name="pk_oauth_clients"),
)

# A person's registration at a provider: a consumer User's (`user_id`) or a Member's
# (`member_id`, `organization_id`); `owner_id` is whichever of the two it is, so that one owner
# has one registration per provider. The provider's tokens are sealed with the master key,
# bound to the registration (oauth/tokens.py); `profile` is what the provider last said of the
# person (oauth/providers.py Profile).
oauth_registrations = Table(
    "oauth_registrations",
    metadata,
    Column("registration_id", String(100), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("provider_subject", String(255), nullable=False),
    Column("owner_id", String(80), nullable=False),
    Column("user_id", String(80), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=True),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=True),
    Column("organization_id", String(80), nullable=True),
    Column("profile", JSONType, nullable=False, default=dict),
    Column("access_token", Text, nullable=True),
    Column("refresh_token", Text, nullable=True),
    Column("id_token", Text, nullable=True),
    Column("scopes", JSONType, nullable=False, default=list),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("project_id", "provider", "owner_id", name="uq_oauth_registrations_owner"),
    Index("ix_oauth_registrations_subject", "project_id", "provider", "provider_subject"),
)
