from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, UniqueConstraint, text

from keystile.models.meta import metadata
from keystile.models.types import JSONType, UTCDateTime

organizations = Table(
    "organizations",
    metadata,
    Column("organization_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("slug", String(128), nullable=False),
    Column("logo_url", String(2048), nullable=False, default=""),
    Column("external_id", String(128), nullable=True),
    Column("trusted_metadata", JSONType, nullable=False, default=dict),
    # Every auth policy field of Stytch's Organization object, as one document.
    Column("settings", JSONType, nullable=False, default=dict),
    # Stytch's Organization.sso_active_connections, written by the sso area when a connection
    # becomes active, changes or goes (organizations/repository.py set_sso_active_connections).
    Column("sso_active_connections", JSONType, nullable=False, default=list, server_default="[]"),
    # Organization.scim_active_connection (scim/, migration 0022), None without one.
    Column("scim_active_connection", JSONType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("project_id", "slug", name="uq_organizations_project_slug"),
    UniqueConstraint("project_id", "external_id", name="uq_organizations_project_external_id"),
)

# organizations.search by allowed / claimed domain on PostgreSQL (migration 0003); SQLite scans.
for _name, _key in (
    ("ix_organizations_allowed_domains", "email_allowed_domains"),
    ("ix_organizations_claimed_domains", "claimed_email_domains"),
):
    Index(_name, text(f"(settings -> '{_key}')"), _table=organizations, postgresql_using="gin").ddl_if(
        dialect="postgresql"
    )

members = Table(
    "members",
    metadata,
    Column("member_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column(
        "organization_id",
        String(80),
        ForeignKey("organizations.organization_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("email", String(320), nullable=False),
    Column("email_normalized", String(320), nullable=False),
    Column("email_id", String(80), nullable=False),
    Column("status", String(16), nullable=False),
    Column("name", String(256), nullable=False, default=""),
    Column("external_id", String(128), nullable=True),
    Column("email_address_verified", Boolean, nullable=False, default=False),
    Column("is_breakglass", Boolean, nullable=False, default=False),
    Column("roles", JSONType, nullable=False, default=list),  # directly assigned role ids
    # Roles granted implicitly, with their source: [{"role_id", "source": {"type", "details"}}]
    # (SSO connection, SSO group, SCIM group; migration 0014). members/repository.py
    # replace_granted_roles is the one writer; members/serializers.py member_roles shows them.
    Column("granted_roles", JSONType, nullable=False, default=list, server_default=text("'[]'")),
    # The SCIM connection that provisioned the member, with the user as the directory sent it
    # (scim/, migration 0022); None for a member no directory manages.
    Column("scim_registration", JSONType, nullable=True),
    Column("trusted_metadata", JSONType, nullable=False, default=dict),
    Column("untrusted_metadata", JSONType, nullable=False, default=dict),
    # MFA (Member.mfa_enrolled, default_mfa_method, totp_registration_id: the verified TOTP).
    Column("mfa_enrolled", Boolean, nullable=False, default=False, server_default=text("false")),
    Column("default_mfa_method", String(16), nullable=False, default="", server_default=""),
    Column("totp_registration_id", String(80), nullable=True),
    # E.164 (core/phones.py), "" when none; verified by a first accepted SMS passcode.
    Column("mfa_phone_number", String(32), nullable=False, default="", server_default=""),
    Column("mfa_phone_number_verified", Boolean, nullable=False, default=False, server_default=text("false")),
    # Member.oauth_registrations: one entry per provider and subject the Member logged in with
    # (written by the oauth area through repository.put_oauth_registration), so serializing a
    # Member needs no other query.
    Column("oauth_registrations", JSONType, nullable=False, default=list, server_default=text("'[]'")),
    # Member.member_password_id, kept here by the passwords area (the hash is in `passwords`).
    Column("member_password_id", String(80), nullable=True),
    # Stytch's Member.sso_registrations, written by the sso area at each SSO login
    # (members/repository.py set_sso_registrations).
    Column("sso_registrations", JSONType, nullable=False, default=list, server_default="[]"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # One live membership per email per organization; a deleted member's address is free again.
    Index(
        "uq_members_organization_email_live",
        "organization_id",
        "email_normalized",
        unique=True,
        postgresql_where=text("status <> 'deleted'"),
        sqlite_where=text("status <> 'deleted'"),
    ),
    UniqueConstraint("organization_id", "external_id", name="uq_members_organization_external_id"),
    Index("ix_members_project_email", "project_id", "email_normalized"),
)

# Addresses a member used before an email change (Member.retired_email_addresses).
member_retired_emails = Table(
    "member_retired_emails",
    metadata,
    Column("email_id", String(80), primary_key=True),
    Column("project_id", String(80), ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False),
    Column("member_id", String(80), ForeignKey("members.member_id", ondelete="CASCADE"), nullable=False),
    Column("organization_id", String(80), nullable=False),
    Column("email", String(320), nullable=False),
    Column("email_normalized", String(320), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_member_retired_emails_member", "member_id"),
    Index("ix_member_retired_emails_org_email", "organization_id", "email_normalized"),
)
