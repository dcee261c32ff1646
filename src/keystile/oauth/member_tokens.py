"""A Member's provider tokens: organizations.members.oauth_providers.google / microsoft /
slack / hubspot / github (stytch.com/docs/b2b/api/get-google-access-token and the others).

The tokens are read from the Member's registration at the provider (sealed with the master
key, oauth/registrations.py), the access token refreshed first when it has expired and the
provider gave a refresh token. The refresh token itself is shown only when asked
(`include_refresh_token`): an app that spends it may stop keystile from refreshing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile.core.context import Context
from keystile.members import service as members_service
from keystile.oauth import errors_b2b, registrations
from keystile.oauth.service_consumer import provider_type
from keystile.organizations import service as orgs_service


def expires_in(ctx: Context, values: registrations.ProviderValues) -> int:
    """Seconds until the access token expires (0 when the provider gave no expiry)."""
    if values.expires_at is None:
        return 0
    return max(0, int((values.expires_at - ctx.clock.now()).total_seconds()))


async def _registration(ctx: Context, organization_id: str, member_id: str, provider: str) -> Row[Any] | None:
    org = await orgs_service.get(ctx, organization_id)
    member = await members_service.get_existing(ctx, org.organization_id, member_id)
    return await registrations.registration_of(ctx, provider, member.member_id)


def _tenants(registration: Row[Any]) -> list[str]:
    return [str(t) for t in (registration.profile or {}).get("tenants") or []]


def _tenant(registration: Row[Any]) -> str:
    profile = registration.profile or {}
    tenants = _tenants(registration)
    return str(profile.get("tenant") or (tenants[0] if tenants else ""))


async def openid(
    ctx: Context, organization_id: str, member_id: str, provider: str, *, include_refresh_token: bool
) -> dict[str, Any]:
    """Google's and Microsoft's answer: one registration, its fields at the top level."""
    registration = await _registration(ctx, organization_id, member_id, provider)
    if registration is None:
        raise errors_b2b.MemberOAuthRegistrationNotFound(
            f"This Member has not logged in with {provider_type(provider)}: no tokens are kept."
        )
    values = await registrations.provider_values(ctx, registration)
    return {
        "provider_type": provider_type(provider),
        "provider_subject": registration.provider_subject,
        "id_token": values.id_token,
        "scopes": values.scopes,
        "access_token": values.access_token,
        "access_token_expires_in": expires_in(ctx, values),
        "refresh_token": values.refresh_token if include_refresh_token else "",
    }


async def listed(
    ctx: Context, organization_id: str, member_id: str, provider: str, *, include_refresh_token: bool
) -> dict[str, Any]:
    """Slack's, HubSpot's and GitHub's answer: the Member's registrations (none, or one)."""
    registration = await _registration(ctx, organization_id, member_id, provider)
    entries: list[dict[str, Any]] = []
    if registration is not None:
        values = await registrations.provider_values(ctx, registration)
        entry: dict[str, Any] = {
            "provider_subject": registration.provider_subject,
            "access_token": values.access_token,
            "scopes": values.scopes,
        }
        if provider == "github":
            entry["provider_tenant_ids"] = _tenants(registration)
        else:
            entry["provider_tenant_id"] = _tenant(registration)
        if provider == "slack":
            # A Slack app's bot token comes with the workspace installation, which a login does
            # not make: none is kept.
            entry.update(bot_access_token="", bot_scopes=[])
        if provider == "hubspot":
            entry["access_token_expires_in"] = expires_in(ctx, values)
            if include_refresh_token:
                entry["refresh_token"] = values.refresh_token
        entries.append(entry)
    return {"provider_type": provider_type(provider), "registrations": entries}
