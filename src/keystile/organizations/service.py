"""Organizations: creation and the validation of their auth policy (reference §6, §8)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import emails, events, ids, search
from keystile.core.authz import check_implicit_assignments
from keystile.core.context import Context
from keystile.core.search import FilterKind
from keystile.organizations import repository
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


# The providers whose tenants `allowed_oauth_tenants` may list: Stytch's Slack workspaces, HubSpot
# hubs and GitHub organizations, and keystile's Google hosted domains and Microsoft tenants.
OAUTH_TENANT_PROVIDERS = ("google", "microsoft", "slack", "hubspot", "github")


def _oauth_tenants(value: Any) -> dict[str, list[str]]:
    """`allowed_oauth_tenants`: {provider: [tenant id, ...]}, each id once."""
    if not isinstance(value, dict):
        raise errors.BadRequest("allowed_oauth_tenants must be an object of provider: [tenant ids].")
    cleaned: dict[str, list[str]] = {}
    for provider, tenants in value.items():
        if provider not in OAUTH_TENANT_PROVIDERS:
            raise errors.InvalidOrganizationSettings(
                f"allowed_oauth_tenants has an unknown provider {provider!r}; use {', '.join(OAUTH_TENANT_PROVIDERS)}."
            )
        if not isinstance(tenants, list) or not all(isinstance(t, str) and t.strip() for t in tenants):
            raise errors.BadRequest(f"allowed_oauth_tenants.{provider} must be an array of tenant ids.")
        cleaned[provider] = list(dict.fromkeys(t.strip() for t in tenants))
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
        elif field == "allowed_oauth_tenants":
            value = _oauth_tenants(value)
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


async def get(ctx: Context, ref: str) -> Row[Any]:
    """The project's organization by id or slug; organization_not_found if none."""
    return await repository.get(ctx.conn, ctx.project_id, ref)


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
        if await repository.slug_taken(ctx.conn, ctx.project_id, slug):
            raise errors.OrganizationSlugAlreadyUsed()
    else:
        base = slugify(derive_slug_from or name)
        slug = base
        while await repository.slug_taken(ctx.conn, ctx.project_id, slug):
            slug = f"{base}-{secrets.token_hex(3)}"
    if external_id is not None and await repository.external_id_taken(ctx.conn, ctx.project_id, external_id):
        raise errors.DuplicateOrganizationExternalId()
    now = ctx.clock.now()
    return await repository.create(
        ctx.conn,
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
        if await repository.slug_taken(ctx.conn, ctx.project_id, slug, except_id=organization.organization_id):
            raise errors.OrganizationSlugAlreadyUsed()
        values["slug"] = slug
    if logo_url is not None:
        values["logo_url"] = logo_url
    if trusted_metadata is not None:
        values["trusted_metadata"] = merge_metadata(organization.trusted_metadata, trusted_metadata)
    if external_id is not None and external_id != organization.external_id:
        validate_external_id(external_id)
        if await repository.external_id_taken(
            ctx.conn, ctx.project_id, external_id, except_id=organization.organization_id
        ):
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
        named = [
            cleaned.get("sso_default_connection_id") or "",
            *(cleaned.get("sso_jit_provisioning_allowed_connections") or []),
        ]
        if any(named):
            await events.emit(
                ctx, events.SSOConnectionsNamed(organization.organization_id, tuple(str(c) for c in named if c))
            )
        values["settings"] = stored
    values["updated_at"] = ctx.clock.now()
    return await repository.update(ctx.conn, ctx.project_id, organization.organization_id, values)


async def delete_organization(ctx: Context, organization: Row[Any]) -> None:
    """Delete an Organization with all its Members, their sessions and its pending tokens
    (stytch.com/docs/b2b/api/delete-organization)."""
    ended = await repository.delete(ctx.conn, ctx.project_id, organization.organization_id)
    for session_id in ended:
        ctx.state.jwt_cache.drop(session_id)


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
SEARCH_PREFIX = repository.SEARCH_PREFIX


async def search_organizations(
    ctx: Context, *, cursor: str | None, limit: int | None, query: Any
) -> tuple[list[Row[Any]], int, str | None]:
    """One page of the project's Organizations matching `query`, the total count, the next cursor."""
    parsed = search.parse_query(query, ORGANIZATION_FILTERS, SEARCH_PREFIX)
    page_size = search.check_limit(limit, SEARCH_PREFIX)
    return await repository.search(ctx.conn, ctx.project_id, parsed, cursor=cursor, limit=page_size)


# --- Claimed email domains (stytch.com/docs/b2b/api/errors/400#action_not_allowed_email_domain_is_claimed) ---


async def domain_claimants(ctx: Context, email: str) -> set[str]:
    """Ids of the Organizations that claim this email's domain."""
    return await repository.claimants(ctx.conn, ctx.project_id, emails.domain(email))


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
    return await repository.member_count(ctx.conn, ctx.project_id, organization.organization_id)


async def delete_external_id(ctx: Context, organization: Row[Any]) -> Row[Any]:
    """Clear `organization_external_id` (PY `organizations.delete_external_id`)."""
    return await repository.update(
        ctx.conn, ctx.project_id, organization.organization_id, {"external_id": None, "updated_at": ctx.clock.now()}
    )
