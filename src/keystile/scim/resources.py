"""SCIM 2.0 resources (RFC 7643) as scim2-models gives them, and what keystile keeps of them:
the User as the directory sent it (`document`, the SCIM JSON without id, meta and groups),
its Stytch form (PY `SCIMAttributes`), and the Member fields it decides (email, name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    GroupMember,
    GroupMembership,
    Meta,
    Patch,
    Required,
    ResourceType,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_models import Context as ScimContext

ScimUser = User[EnterpriseUser]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_RESULTS = 1000
# What a list returns per page unless the client asks for fewer (RFC 7644 §3.4.2.4).
DEFAULT_COUNT = 100


def service_provider_config(base_url: str) -> ServiceProviderConfig:
    """What keystile's SCIM service supports (RFC 7643 §5): PATCH and filters, no bulk,
    sort, ETags or password changes; a bearer token per connection."""
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="The SCIM connection's bearer token, in an Authorization: Bearer header.",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base_url}/ServiceProviderConfig"),
    )


def resource_types(base_url: str) -> list[ResourceType]:
    found = []
    for model in (ScimUser, Group):
        rt = ResourceType.from_resource(model)
        rt.meta = Meta(resource_type="ResourceType", location=f"{base_url}/ResourceTypes/{rt.id}")
        found.append(rt)
    return found


def schemas(base_url: str) -> list[Any]:
    found = []
    for model in (User, EnterpriseUser, Group):
        schema = model.to_schema()
        if model is User:
            # A member is an email address: keystile needs one, so its User schema says so
            # (a userName that is an address is taken as well, for directories that send no emails).
            for attribute in schema.attributes or []:
                if attribute.name == "emails":
                    attribute.required = Required.true
                    for sub in attribute.sub_attributes or []:
                        if sub.name == "value":
                            sub.required = Required.true
        schema.meta = Meta(resource_type="Schema", location=f"{base_url}/Schemas/{schema.id}")
        found.append(schema)
    return found


def user_document(user: ScimUser) -> dict[str, Any]:
    """What keystile keeps of a User the directory sent: every attribute it may read back,
    never a password, and not what keystile assigns itself (id, meta, groups)."""
    dumped = user.model_dump(scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE)
    for key in ("id", "meta", "groups", "password"):
        dumped.pop(key, None)
    return dumped


def user_resource(
    member_id: str,
    document: dict[str, Any],
    *,
    active: bool,
    groups: list[tuple[str, str]],
    created: datetime,
    updated: datetime,
    base_url: str,
) -> ScimUser:
    """The SCIM User of a provisioned member: its document, with keystile's id, meta, active
    flag (a deactivated member is `active: false`) and groups."""
    user = ScimUser.model_validate(document)
    user.id = member_id
    # `active` is the member's state (a member deactivated elsewhere is inactive whatever the
    # document said), shown only while the directory sets it (a PATCH may remove it).
    user.active = active if "active" in document else None
    if groups:
        user.groups = [
            GroupMembership(value=group_id, display=name, ref=f"{base_url}/Groups/{group_id}")  # type: ignore[arg-type]
            for group_id, name in groups
        ]
    user.meta = Meta(
        resource_type="User",
        created=created,
        last_modified=updated,
        location=f"{base_url}/Users/{member_id}",
        version=None,
    )
    return user


def group_resource(row: Any, held: list[tuple[str, str | None]], base_url: str) -> Group:
    members = [
        GroupMember(value=m, ref=f"{base_url}/Users/{m}", type="User", display=d)  # type: ignore[arg-type]
        for m, d in held
    ]
    group = Group(id=row.group_id, external_id=row.external_id, display_name=row.display_name, members=members or None)
    group.meta = Meta(
        resource_type="Group",
        created=row.created_at,
        last_modified=row.updated_at,
        location=f"{base_url}/Groups/{row.group_id}",
    )
    return group


def email_of(user: ScimUser) -> str | None:
    """The member's address: the primary email, else the work one, else the first, else a
    userName that is an address."""
    found = [e for e in user.emails or [] if e.value]
    for pick in (
        [e for e in found if e.primary],
        [e for e in found if str(getattr(e.type, "value", e.type) or "").lower() == "work"],
        found,
    ):
        if pick:
            return str(pick[0].value)
    if user.user_name and "@" in user.user_name:
        return user.user_name
    return None


def name_of(user: ScimUser) -> str:
    name = user.name
    if name is not None:
        if name.formatted:
            return name.formatted
        parts = [p for p in (name.given_name, name.middle_name, name.family_name) if p]
        if parts:
            return " ".join(parts)
    return user.display_name or ""


def _s(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _multi(items: list[Any] | None, *, with_type: bool = True) -> list[dict[str, Any]]:
    found = []
    for item in items or []:
        entry: dict[str, Any] = {"value": _s(item.value)}
        if with_type:
            entry["type"] = _s(getattr(item, "type", None))
            entry["primary"] = bool(getattr(item, "primary", False))
        found.append(entry)
    return found


def stytch_attributes(
    member_id: str, document: dict[str, Any], *, active: bool, groups: list[tuple[str, str]]
) -> dict[str, Any]:
    """PY `SCIMAttributes`: the User in Stytch's snake_case, every field present."""
    user = ScimUser.model_validate(document)
    name = user.name
    ext = user[EnterpriseUser] if ENTERPRISE in (user.schemas or []) else None
    manager = getattr(ext, "manager", None) if ext is not None else None
    return {
        "user_name": user.user_name or "",
        "id": member_id,
        "external_id": user.external_id or "",
        "active": active,
        "groups": [{"value": g, "display": n} for g, n in groups],
        "display_name": user.display_name or "",
        "nick_name": user.nick_name or "",
        "profile_url": _s(user.profile_url),
        "user_type": user.user_type or "",
        "title": user.title or "",
        "preferred_language": user.preferred_language or "",
        "locale": user.locale or "",
        "timezone": user.timezone or "",
        "emails": _multi(user.emails),
        "phone_numbers": _multi(user.phone_numbers),
        "addresses": [
            {
                "formatted": a.formatted or "",
                "street_address": a.street_address or "",
                "locality": a.locality or "",
                "region": a.region or "",
                "postal_code": a.postal_code or "",
                "country": a.country or "",
                "type": _s(a.type),
                "primary": bool(a.primary),
            }
            for a in user.addresses or []
        ],
        "ims": _multi(user.ims),
        "photos": _multi(user.photos),
        "entitlements": _multi(user.entitlements),
        "roles": _multi(user.roles),
        "x509certificates": _multi(user.x509_certificates),
        "name": {
            "formatted": name.formatted or "",
            "family_name": name.family_name or "",
            "given_name": name.given_name or "",
            "middle_name": name.middle_name or "",
            "honorific_prefix": name.honorific_prefix or "",
            "honorific_suffix": name.honorific_suffix or "",
        }
        if name is not None
        else None,
        "enterprise_extension": {
            "employee_number": ext.employee_number or "",
            "cost_center": ext.cost_center or "",
            "division": ext.division or "",
            "department": ext.department or "",
            "organization": ext.organization or "",
            "manager": {
                "value": manager.value or "",
                "ref": _s(manager.ref),
                "display_name": manager.display_name or "",
            }
            if manager is not None
            else None,
        }
        if ext is not None
        else None,
    }
