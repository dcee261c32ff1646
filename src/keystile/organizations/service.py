"""Organizations: creation and the validation of their auth policy (reference §6, §8)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import emails, ids, search
from keystile.core.authz import check_implicit_assignments
from keystile.core.context import Context
from keystile.core.search import FilterKind, Operand
from keystile.models.organizations import member_retired_emails, members, organizations
from keystile.models.sessions import sessions
from keystile.models.tokens import tokens
from keystile.organizations.repository import DEFAULT_SETTINGS

SLUG = re.compile(r"^[A-Za-z0-9._~-]{2,128}$")

# Policy fields and the values each accepts (PY b2b/api/organizations.py docstrings).
ENUMS: dict[str, frozenset[str]] = {
    "sso_jit_provisioning": frozenset({"ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"}),
    "email_jit_provisioning": frozenset({"RESTRICTED", "NOT_ALLOWED"}),
    "email_invites": frozenset({"ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"}),
    "auth_methods": frozenset({"ALL_ALLOWED", "RESTRICTED"}),
    "mfa_policy": frozenset({"REQUIRED_FOR_ALL", "OPTIONAL"}),
    "mfa_methods": frozenset({"ALL_ALLOWED", "RESTRICTED"}),
    "oauth_tenant_jit_provisioning": frozenset({"RESTRICTED", "NOT_ALLOWED"}),
    "first_party_connected_apps_allowed_type": frozenset({"ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"}),
    "third_party_connected_apps_allowed_type": frozenset({"ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"}),
}
AUTH_METHODS = frozenset(
    {
        "sso",
        "magic_link",
        "email_otp",
        "password",
        "google_oauth",
        "microsoft_oauth",
        "slack_oauth",
        "github_oauth",
        "hubspot_oauth",
    }
)
MFA_METHODS = frozenset({"sms_otp", "totp"})
# Settings whose presence in `create` makes `email_invites` default to NOT_ALLOWED.
AUTH_SETTING_FIELDS = frozenset(
    {
        "sso_jit_provisioning",
        "email_allowed_domains",
        "email_jit_provisioning",
        "email_invites",
        "auth_methods",
        "allowed_auth_methods",
    }
)
LIST_FIELDS = frozenset(
    {
        "sso_jit_provisioning_allowed_connections",
        "email_allowed_domains",
        "allowed_auth_methods",
        "rbac_email_implicit_role_assignments",
        "allowed_mfa_methods",
        "claimed_email_domains",
        "allowed_first_party_connected_apps",
        "allowed_third_party_connected_apps",
    }
)
# Consumer email providers: never an organization's allowed domain (anti-phishing, reference §6).
COMMON_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
        "qq.com",
        "163.com",
        "web.de",
    }
)
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


def validate_name(name: str | None) -> str:
    if name is None or not name.strip():
        raise errors.OrganizationNameMissing()
    if len(name) > 128:
        raise errors.InvalidOrganizationName()
    return name


def validate_slug(slug: str) -> str:
    if not SLUG.match(slug) or not any(c.isalnum() for c in slug):
        raise errors.InvalidOrganizationSlug()
    return slug


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._~-]+", "-", text.lower()).strip("-")[:120]
    return slug if len(slug) >= 2 and any(c.isalnum() for c in slug) else f"org-{secrets.token_hex(3)}"


def _domains(value: list[str], field: str) -> list[str]:
    """Lower-cased valid domains, each once; consumer providers (gmail.com…) can be neither
    allowed nor claimed (anti-phishing: anyone can get such an address)."""
    claimed = field == "claimed_email_domains"
    cleaned: list[str] = []
    for raw in value:
        domain = str(raw).strip().lower()
        if not DOMAIN.match(domain):
            invalid = (
                errors.OrganizationSettingsInvalidClaimedDomain if claimed else errors.OrganizationSettingsInvalidDomain
            )
            raise invalid(f"{raw!r} in {field} is not a valid domain.")
        if domain in COMMON_EMAIL_DOMAINS and field != "rbac_email_implicit_role_assignments":
            if claimed:
                raise errors.OrganizationSettingsClaimedDomainTooCommon(
                    f"{domain} is a common email provider and cannot be claimed."
                )
            raise errors.OrganizationSettingsDomainTooCommon(
                f"{domain} is a common email provider and cannot be an allowed domain."
            )
        if domain in cleaned and field != "rbac_email_implicit_role_assignments":
            duplicate = (
                errors.OrganizationSettingsDuplicateClaimedDomain
                if claimed
                else errors.OrganizationSettingsDuplicateDomain
            )
            raise duplicate(f"{domain} is listed more than once in {field}.")
        cleaned.append(domain)
    return cleaned


def check_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate the policy fields a request sets (each on its own); returns them cleaned."""
    cleaned: dict[str, Any] = {}
    for field, value in changes.items():
        if value is None:
            continue
        if field in ENUMS:
            if value not in ENUMS[field]:
                raise errors.InvalidOrganizationSettings(
                    f"{field} must be one of {', '.join(sorted(ENUMS[field]))}, not {value!r}."
                )
        elif field in LIST_FIELDS and not isinstance(value, list):
            raise errors.BadRequest(f"{field} must be an array.")
        if field in ("email_allowed_domains", "claimed_email_domains"):
            value = _domains(value, field)
        elif field == "allowed_auth_methods":
            unknown = set(value) - AUTH_METHODS
            if unknown:
                raise errors.InvalidOrganizationAllowedAuthMethods(
                    f"allowed_auth_methods has unknown methods {sorted(unknown)}; "
                    f"use {', '.join(sorted(AUTH_METHODS))}."
                )
        elif field == "allowed_mfa_methods":
            unknown = set(value) - MFA_METHODS
            if unknown:
                raise errors.InvalidOrganizationAllowedMfaMethods(
                    f"allowed_mfa_methods has unknown methods {sorted(unknown)}; use sms_otp or totp."
                )
        elif field == "rbac_email_implicit_role_assignments":
            value = [
                {"domain": _domains([a["domain"]], field)[0], "role_id": a["role_id"]}
                for a in value
                if isinstance(a, dict) and "domain" in a and "role_id" in a
            ]
        cleaned[field] = value
    return cleaned


PROVISIONING_SETTINGS = ("sso_jit_provisioning", "email_jit_provisioning", "email_invites")


def check_policy(settings: dict[str, Any]) -> None:
    """Rules across fields, on the settings as they will be stored
    (stytch.com/docs/b2b/api/org-auth-settings)."""
    if not settings["email_allowed_domains"] and (
        settings["email_jit_provisioning"] == "RESTRICTED" or settings["email_invites"] == "RESTRICTED"
    ):
        raise errors.InvalidRestrictedEmailSetting()
    if settings["auth_methods"] == "RESTRICTED" and not settings["allowed_auth_methods"]:
        raise errors.AllowedAuthMethodsRequiredForRestricted()
    if settings["mfa_methods"] == "RESTRICTED" and not settings["allowed_mfa_methods"]:
        raise errors.AllowedMfaMethodsRequiredForRestricted()
    # New Members must be able to join somehow (PY `organizations.update` docstring).
    if all(settings[field] == "NOT_ALLOWED" for field in PROVISIONING_SETTINGS):
        raise errors.InvalidOrganizationSettings(
            "An Organization must keep at least one of sso_jit_provisioning, email_jit_provisioning and "
            "email_invites set to RESTRICTED or ALL_ALLOWED, or no new Member could join it."
        )


async def slug_taken(ctx: Context, slug: str, *, except_id: str | None = None) -> bool:
    query = select(organizations.c.organization_id).where(
        organizations.c.project_id == ctx.project_id, organizations.c.slug == slug
    )
    if except_id:
        query = query.where(organizations.c.organization_id != except_id)
    return (await ctx.conn.execute(query)).first() is not None


async def external_id_taken(ctx: Context, external_id: str, *, except_id: str | None = None) -> bool:
    query = select(organizations.c.organization_id).where(
        organizations.c.project_id == ctx.project_id, organizations.c.external_id == external_id
    )
    if except_id:
        query = query.where(organizations.c.organization_id != except_id)
    return (await ctx.conn.execute(query)).first() is not None


async def create_organization(
    ctx: Context,
    *,
    name: str | None,
    slug: str | None = None,
    logo_url: str | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    external_id: str | None = None,
    settings: dict[str, Any] | None = None,
    derive_slug_from: str | None = None,
) -> Row[Any]:
    """Create an Organization (stytch.com/docs/b2b/api/create-organization).

    Without a slug, one is derived from `derive_slug_from` (or the name) and made unique."""
    name = validate_name(name)
    given = {k: v for k, v in (settings or {}).items() if v is not None}
    cleaned = check_settings(given)
    await check_implicit_assignments(ctx, cleaned.get("rbac_email_implicit_role_assignments"))
    if "email_invites" not in cleaned and AUTH_SETTING_FIELDS & cleaned.keys():
        cleaned["email_invites"] = "NOT_ALLOWED"
    merged = {**DEFAULT_SETTINGS, **cleaned}
    check_policy(merged)
    if slug is not None:
        validate_slug(slug)
        if await slug_taken(ctx, slug):
            raise errors.OrganizationSlugAlreadyUsed()
    else:
        base = slugify(derive_slug_from or name)
        slug = base
        while await slug_taken(ctx, slug):
            slug = f"{base}-{secrets.token_hex(3)}"
    if external_id is not None and await external_id_taken(ctx, external_id):
        raise errors.DuplicateOrganizationExternalId()
    now = ctx.clock.now()
    return (
        await ctx.conn.execute(
            insert(organizations)
            .values(
                organization_id=ids.organization_id(ctx.live),
                project_id=ctx.project_id,
                name=name,
                slug=slug,
                logo_url=logo_url or "",
                external_id=external_id,
                trusted_metadata=trusted_metadata or {},
                settings=cleaned,
                created_at=now,
                updated_at=now,
            )
            .returning(organizations)
        )
    ).one()


EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._|-]{1,128}$")


def validate_external_id(external_id: str, field: str = "organization_external_id") -> str:
    """Alphanumerics, `.`, `_`, `-` and `|`, at most 128 characters (PY `create` docstring)."""
    if not EXTERNAL_ID.match(external_id):
        raise errors.InvalidArgument(f"{field} must be 1 to 128 characters of letters, digits, '.', '_', '-' or '|'.")
    return external_id


def merge_metadata(existing: dict[str, Any] | None, changes: dict[str, Any] | None) -> dict[str, Any]:
    """Stytch's metadata update: merged at the top level only, a null value deletes its key
    (stytch.com/docs/b2b/api/metadata)."""
    merged = dict(existing or {})
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def update_organization(
    ctx: Context,
    organization: Row[Any],
    *,
    name: str | None = None,
    slug: str | None = None,
    logo_url: str | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    external_id: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Row[Any]:
    """Update an Organization (stytch.com/docs/b2b/api/update-organization): absent fields stay
    unchanged; the policy is checked on the settings as they will be stored."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = validate_name(name)
    if slug is not None and slug != organization.slug:
        validate_slug(slug)
        if await slug_taken(ctx, slug, except_id=organization.organization_id):
            raise errors.OrganizationSlugAlreadyUsed()
        values["slug"] = slug
    if logo_url is not None:
        values["logo_url"] = logo_url
    if trusted_metadata is not None:
        values["trusted_metadata"] = merge_metadata(organization.trusted_metadata, trusted_metadata)
    if external_id is not None and external_id != organization.external_id:
        validate_external_id(external_id)
        if await external_id_taken(ctx, external_id, except_id=organization.organization_id):
            raise errors.DuplicateOrganizationExternalId()
        values["external_id"] = external_id
    if settings:
        cleaned = check_settings(settings)
        stored = {**(organization.settings or {}), **cleaned}
        # Roles granted by email domain must exist: in the project's policy or as custom roles.
        await check_implicit_assignments(
            ctx, cleaned.get("rbac_email_implicit_role_assignments"), stored.get("custom_roles")
        )
        check_policy({**DEFAULT_SETTINGS, **stored})
        values["settings"] = stored
    values["updated_at"] = ctx.clock.now()
    return (
        await ctx.conn.execute(
            update(organizations)
            .where(
                organizations.c.organization_id == organization.organization_id,
                organizations.c.project_id == ctx.project_id,
            )
            .values(**values)
            .returning(organizations)
        )
    ).one()


async def delete_organization(ctx: Context, organization: Row[Any]) -> None:
    """Delete an Organization with all its Members, their sessions and its pending tokens
    (stytch.com/docs/b2b/api/delete-organization)."""
    org_id = organization.organization_id
    member_ids = select(members.c.member_id).where(
        members.c.project_id == ctx.project_id, members.c.organization_id == org_id
    )
    ended = await ctx.conn.execute(
        delete(sessions)
        .where(sessions.c.project_id == ctx.project_id, sessions.c.member_id.in_(member_ids))
        .returning(sessions.c.session_id)
    )
    for row in ended:
        ctx.state.jwt_cache.drop(row.session_id)
    await ctx.conn.execute(
        delete(tokens).where(tokens.c.project_id == ctx.project_id, tokens.c.organization_id == org_id)
    )
    await ctx.conn.execute(
        delete(member_retired_emails).where(
            member_retired_emails.c.project_id == ctx.project_id, member_retired_emails.c.organization_id == org_id
        )
    )
    await ctx.conn.execute(
        delete(members).where(members.c.project_id == ctx.project_id, members.c.organization_id == org_id)
    )
    await ctx.conn.execute(
        delete(organizations).where(
            organizations.c.project_id == ctx.project_id, organizations.c.organization_id == org_id
        )
    )


# --- Search (stytch.com/docs/b2b/api/search-organizations; reference §7) ---

ORGANIZATION_FILTERS: dict[str, FilterKind] = {
    "organization_ids": FilterKind.STRINGS,
    "organization_slugs": FilterKind.STRINGS,
    "organization_name_fuzzy": FilterKind.FUZZY,
    "organization_slug_fuzzy": FilterKind.FUZZY,
    "member_emails": FilterKind.STRINGS,
    "member_email_fuzzy": FilterKind.FUZZY,
    "allowed_domains": FilterKind.STRINGS,
    "allowed_domain_fuzzy": FilterKind.FUZZY,
    "claimed_email_domains": FilterKind.STRINGS,
    "has_active_sso_connection": FilterKind.BOOLEAN,
    "sso_connection_id": FilterKind.STRING,
}
SEARCH_PREFIX = "organization_search"


def contains_ci(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; `%` and `_` in the text match themselves."""
    return func.lower(column).contains(text.lower(), autoescape=True)


def json_array_has(
    dialect: str, document: Any, key: str | None, match: Callable[[Any], ColumnElement[bool]]
) -> ColumnElement[bool]:
    """EXISTS an element of the JSON string array `document[key]` (or `document`) satisfying
    `match`. SQLite unnests with json_each, PostgreSQL (JSONB) with jsonb_array_elements_text."""
    if dialect == "postgresql":
        array = document[key] if key else document
        elements = func.jsonb_array_elements_text(array).table_valued("value")
    else:
        elements = func.json_each(document, f"$.{key}" if key else "$").table_valued("value")
    return exists(select(literal(1)).select_from(elements).where(match(elements.c.value)))


def _domains_in(dialect: str, key: str, wanted: list[str]) -> ColumnElement[bool]:
    """Organizations whose settings[key] array holds any of `wanted`. On PostgreSQL the
    expression is spelled exactly as the GIN index of migration 0003, so it is used."""
    if not wanted:
        return false()
    if dialect == "postgresql":
        document: ColumnElement[Any] = literal_column(f"(organizations.settings -> '{key}')")
        return document.op("?|")(postgresql.array(wanted, type_=Text))
    return json_array_has(dialect, organizations.c.settings, key, lambda e: e.in_(wanted))


def _member_exists(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(
        select(literal(1)).where(
            members.c.organization_id == organizations.c.organization_id,
            members.c.status != "deleted",
            condition,
        )
    )


def _organization_condition(dialect: str, operand: Operand) -> ColumnElement[bool]:
    name, value = operand.name, operand.value
    if name == "organization_ids":
        return organizations.c.organization_id.in_(value)
    if name == "organization_slugs":
        return organizations.c.slug.in_(value)
    if name == "organization_name_fuzzy":
        return contains_ci(organizations.c.name, value)
    if name == "organization_slug_fuzzy":
        return contains_ci(organizations.c.slug, value)
    if name == "member_emails":
        return _member_exists(members.c.email_normalized.in_([emails.normalize(v) for v in value]))
    if name == "member_email_fuzzy":
        return _member_exists(contains_ci(members.c.email_normalized, value))
    if name == "allowed_domains":
        wanted = [v.strip().lower() for v in value]
        return _domains_in(dialect, "email_allowed_domains", wanted)
    if name == "allowed_domain_fuzzy":
        return json_array_has(
            dialect, organizations.c.settings, "email_allowed_domains", lambda e: contains_ci(e, value)
        )
    if name == "claimed_email_domains":
        wanted = [v.strip().lower() for v in value]
        return _domains_in(dialect, "claimed_email_domains", wanted)
    # keystile has no SSO connections yet: no Organization has an active one.
    if name == "has_active_sso_connection":
        return false() if value else true()
    return false()  # sso_connection_id


async def search_organizations(
    ctx: Context, *, cursor: str | None, limit: int | None, query: Any
) -> tuple[list[Row[Any]], int, str | None]:
    """One page of the project's Organizations matching `query`, the total count, the next cursor."""
    parsed = search.parse_query(query, ORGANIZATION_FILTERS, SEARCH_PREFIX)
    page_size = search.check_limit(limit, SEARCH_PREFIX)
    dialect = ctx.conn.dialect.name
    where = [organizations.c.project_id == ctx.project_id]
    combined = parsed.combine([_organization_condition(dialect, op) for op in parsed.operands])
    if combined is not None:
        where.append(combined)
    total = (await ctx.conn.execute(select(func.count()).select_from(organizations).where(*where))).scalar_one()
    page_query = search.paginate(
        select(organizations).where(*where),
        organizations.c.created_at,
        organizations.c.organization_id,
        limit=page_size,
        cursor=cursor,
        prefix=SEARCH_PREFIX,
    )
    rows = list(await ctx.conn.execute(page_query))
    page, next_cursor = search.page_results(rows, page_size, "created_at", "organization_id")
    return page, total, next_cursor


# --- Claimed email domains (stytch.com/docs/b2b/api/errors/400#action_not_allowed_email_domain_is_claimed) ---


async def domain_claimants(ctx: Context, email: str) -> set[str]:
    """Ids of the Organizations that claim this email's domain."""
    domain = emails.domain(email)
    rows = await ctx.conn.execute(
        select(organizations.c.organization_id).where(
            organizations.c.project_id == ctx.project_id,
            json_array_has(
                ctx.conn.dialect.name, organizations.c.settings, "claimed_email_domains", lambda e: e == domain
            ),
        )
    )
    return {row.organization_id for row in rows}


async def check_domain_claim(ctx: Context, email: str, organization: Row[Any] | None) -> None:
    """A person whose email domain an Organization has claimed may join on their own (JIT) only
    Organizations that claim it, and create none: "Members with this email domain are restricted
    to organizations that have claimed this domain". `organization` is the one being joined,
    None when creating one. Invites and Members an admin creates are not self-service and pass."""
    claimants = await domain_claimants(ctx, email)
    if claimants and (organization is None or organization.organization_id not in claimants):
        raise errors.ActionNotAllowedEmailDomainIsClaimed(
            f"{emails.domain(email)} is claimed by another organization: its users may only join the "
            "organizations that claimed it."
        )


async def member_count(ctx: Context, organization: Row[Any]) -> int:
    """Members that are not deleted (PY `organizations.metrics`, `MetricsResponse.member_count`)."""
    return (
        await ctx.conn.execute(
            select(func.count())
            .select_from(members)
            .where(
                members.c.project_id == ctx.project_id,
                members.c.organization_id == organization.organization_id,
                members.c.status != "deleted",
            )
        )
    ).scalar_one()


async def delete_external_id(ctx: Context, organization: Row[Any]) -> Row[Any]:
    """Clear `organization_external_id` (PY `organizations.delete_external_id`)."""
    return (
        await ctx.conn.execute(
            update(organizations)
            .where(
                organizations.c.organization_id == organization.organization_id,
                organizations.c.project_id == ctx.project_id,
            )
            .values(external_id=None, updated_at=ctx.clock.now())
            .returning(organizations)
        )
    ).one()
