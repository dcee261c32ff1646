"""The SCIM 2.0 service of one connection (RFC 7643, RFC 7644): Users are the members of
the connection's organization, Groups grant the roles the connection maps them to.
scim2-models parses, validates, filters and patches the resources; this module decides what
they do to keystile's members (stytch.com/docs/b2b/guides/scim).

- A created User is an active member with a verified email and a `scim_registration`; a
  member of the organization with the same address (from a magic link, SSO, an invite) is
  the same person, and becomes the provisioned member rather than a second one.
- A replaced or patched User changes the member's name and email and the registration's
  external id; `active: false` deactivates the member (status `deleted`, sessions revoked in
  the same transaction), `active: true` brings it back.
- DELETE deactivates the member too, and forgets its registration: the User is gone.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from scim2_models import Context as ScimContext
from scim2_models import (
    Group,
    InvalidFilterException,
    InvalidValueException,
    ListResponse,
    NotFoundException,
    PatchOp,
    SearchRequest,
    UniquenessException,
)
from scim2_models.path.filter import ScimFilter
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors
from keystile.core import emails, ids
from keystile.core.context import Context
from keystile.members import repository as members_repo
from keystile.members import service as members
from keystile.organizations import repository as orgs_repo
from keystile.scim import repository, roles
from keystile.scim.resources import (
    DEFAULT_COUNT,
    MAX_RESULTS,
    ScimUser,
    email_of,
    group_resource,
    name_of,
    stytch_attributes,
    user_document,
    user_resource,
)

# `userName eq "…"`, the lookup Okta and Entra make before every create: read by index, not
# by filtering every User of the connection.
_USER_NAME_EQ = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
_DISPLAY_NAME_EQ = re.compile(r'^\s*displayName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


class Service:
    """One SCIM request's view of its connection: everything it reads or writes is of the
    connection's organization."""

    def __init__(self, ctx: Context, connection: Row[Any], base_url: str) -> None:
        self.ctx = ctx
        self.connection = connection
        self.base_url = base_url

    @property
    def _org_id(self) -> str:
        return str(self.connection.organization_id)

    # --- Users ---

    async def _user_of(self, member: Row[Any], groups: list[Row[Any]] | None = None) -> ScimUser:
        if groups is None:
            groups = (
                await repository.member_groups(
                    self.ctx.conn, self.ctx.project_id, self.connection.connection_id, [member.member_id]
                )
            )[member.member_id]
        return user_resource(
            member.member_id,
            member.scim_registration["document"],
            active=member.status != "deleted",
            groups=[(g.group_id, g.display_name) for g in groups],
            created=member.created_at,
            updated=member.updated_at,
            base_url=self.base_url,
        )

    async def _member(self, member_id: str) -> Row[Any]:
        row = await members_repo.scim_member(
            self.ctx.conn, self.ctx.project_id, self._org_id, self.connection.connection_id, member_id
        )
        if row is None:
            raise NotFoundException(detail=f"No User {member_id}.")
        return row

    async def get_user(self, member_id: str) -> ScimUser:
        return await self._user_of(await self._member(member_id))

    async def list_users(self, search: SearchRequest) -> Any:
        match = _USER_NAME_EQ.match(str(search.filter or ""))
        user_name = re.sub(r"\\(.)", r"\1", match.group(1)) if match else None
        rows = await members_repo.scim_members(
            self.ctx.conn, self.ctx.project_id, self._org_id, self.connection.connection_id, user_name=user_name
        )
        if not search.filter:  # only the page's Users are built
            total, rows = len(rows), _page_of(rows, search)
        groups = await repository.member_groups(
            self.ctx.conn, self.ctx.project_id, self.connection.connection_id, [r.member_id for r in rows]
        )
        found = [await self._user_of(row, groups[row.member_id]) for row in rows]
        if not search.filter:
            return _listed(ScimUser, found, total, search)
        return _page(ScimUser, _filtered(ScimUser, found, search), search)

    async def search_all(self, search: SearchRequest) -> Any:
        """`POST /.search` at the root (RFC 7644 §3.4.3): Users and Groups together; a filter
        naming an attribute one of them lacks matches none of that type."""
        users = (await self.list_users(search.model_copy(update={"start_index": 1, "count": MAX_RESULTS}))).resources
        groups = (await self.list_groups(search.model_copy(update={"start_index": 1, "count": MAX_RESULTS}))).resources
        return _page(ScimUser | Group, [*(users or []), *(groups or [])], search)

    async def create_user(self, user: ScimUser) -> ScimUser:
        return await self._user_of(await self._apply(None, user))

    async def replace_user(self, member_id: str, user: ScimUser) -> ScimUser:
        return await self._user_of(await self._apply(await self._member(member_id), user))

    async def patch_user(self, member_id: str, body: dict[str, Any]) -> ScimUser:
        member = await self._member(member_id)
        current = await self._user_of(member)
        patch = _patch_op(PatchOp[ScimUser], body)
        _run_patch(patch, current)
        return await self._user_of(await self._apply(member, current))

    async def delete_user(self, member_id: str) -> None:
        member = await self._member(member_id)
        if member.status != "deleted":
            await members.delete_member(self.ctx, member)  # sessions revokes its sessions
        await repository.leave_all_groups(self.ctx.conn, self.ctx.project_id, member.member_id)
        await roles.sync(self.ctx, self.connection, [member.member_id])
        await members_repo.set_scim_registration(
            self.ctx.conn, self.ctx.project_id, member.member_id, None, updated_at=self.ctx.clock.now()
        )

    async def _apply(self, member: Row[Any] | None, user: ScimUser) -> Row[Any]:
        """Make the member what the User says (a new member when `member` is None)."""
        ctx = self.ctx
        if not user.user_name:
            raise InvalidValueException(detail="userName is required.")
        email = email_of(user)
        if email is None:
            raise InvalidValueException(detail="The User has no email address (emails or a userName that is one).")
        try:
            email = emails.validate(email)
        except errors.StytchError as exc:
            raise InvalidValueException(detail=f"{email!r} is not an email address: {exc.message}") from None
        for other in await members_repo.scim_members(
            ctx.conn, ctx.project_id, self._org_id, self.connection.connection_id, user_name=user.user_name
        ):
            if member is None or other.member_id != member.member_id:
                raise UniquenessException(detail=f"userName {user.user_name!r} is already provisioned.")
        # A User without `active` (a PUT that leaves it out, a PATCH that removes it) keeps the
        # member as it is; only `active: false` deactivates and only `active: true` reactivates.
        active = user.active if user.active is not None else (member is None or member.status != "deleted")
        now = ctx.clock.now()
        holder = await members_repo.find_by_email(ctx.conn, ctx.project_id, self._org_id, email)
        if member is None:
            if holder is not None:
                registration = holder.scim_registration or {}
                if registration.get("connection_id") == self.connection.connection_id:
                    raise UniquenessException(detail=f"{email} is already provisioned.")
                member = holder  # the same person, already a member: provisioned, not duplicated
            else:
                organization = await orgs_repo.get(ctx.conn, ctx.project_id, self._org_id)
                member = await members.create_member(
                    ctx, organization, email=email, status="active", email_verified=True, name=name_of(user)
                )
        elif holder is not None and holder.member_id != member.member_id:
            raise UniquenessException(detail=f"{email} belongs to another member of the organization.")
        values: dict[str, Any] = {"name": name_of(user), "updated_at": now}
        if emails.normalize(email) != member.email_normalized:
            values.update(email=email, email_normalized=emails.normalize(email), email_id=ids.email_id(ctx.live))
        if active:
            values.update(status="active", email_address_verified=True)
        elif member.status != "deleted":
            await members.delete_member(ctx, member)  # sessions revokes its sessions
        document = user_document(user)
        groups = (
            await repository.member_groups(ctx.conn, ctx.project_id, self.connection.connection_id, [member.member_id])
        )[member.member_id]
        previous = member.scim_registration or {}
        registration = {
            "connection_id": self.connection.connection_id,
            "registration_id": previous.get("registration_id")
            if previous.get("connection_id") == self.connection.connection_id
            else ids.new_id("scim-registration", ctx.live),
            "external_id": user.external_id,
            "user_name_key": user.user_name.casefold(),
            "document": document,
            "scim_attributes": stytch_attributes(
                member.member_id, document, active=active, groups=[(g.group_id, g.display_name) for g in groups]
            ),
        }
        try:
            async with ctx.conn.begin_nested():
                return await members_repo.set_scim_registration(
                    ctx.conn, ctx.project_id, member.member_id, registration, **values
                )
        except IntegrityError:  # reactivated onto an address another member took meanwhile
            raise UniquenessException(detail=f"{email} belongs to another member of the organization.") from None

    # --- Groups ---

    async def _group(self, group_id: str) -> Row[Any]:
        row = await repository.find_group(self.ctx.conn, self.ctx.project_id, self.connection.connection_id, group_id)
        if row is None:
            raise NotFoundException(detail=f"No Group {group_id}.")
        return row

    async def _group_of(self, row: Row[Any], held: list[tuple[str, str | None]] | None = None) -> Group:
        if held is None:
            held = (await repository.group_members(self.ctx.conn, self.ctx.project_id, [row.group_id]))[row.group_id]
        return group_resource(row, held, self.base_url)

    async def get_group(self, group_id: str) -> Group:
        return await self._group_of(await self._group(group_id))

    async def list_groups(self, search: SearchRequest) -> Any:
        match = _DISPLAY_NAME_EQ.match(str(search.filter or ""))
        if match:  # Okta's and Entra's lookup before a push: one group by name, by index
            found_row = await repository.find_group_by_name(
                self.ctx.conn,
                self.ctx.project_id,
                self.connection.connection_id,
                re.sub(r"\\(.)", r"\1", match.group(1)),
            )
            rows = [found_row] if found_row is not None else []
        else:
            rows = await repository.groups(self.ctx.conn, self.ctx.project_id, self.connection.connection_id)
        if not search.filter:
            total, rows = len(rows), _page_of(rows, search)
        # Entra asks without members (excludedAttributes=members): they are not read then.
        excluded = {str(p).rsplit(":", 1)[-1].lower() for p in search.excluded_attributes or []}
        needs_members = "members" not in excluded or "members" in str(search.filter or "")
        held = (
            await repository.group_members(self.ctx.conn, self.ctx.project_id, [r.group_id for r in rows])
            if needs_members
            else {r.group_id: [] for r in rows}
        )
        found = [await self._group_of(row, held[row.group_id]) for row in rows]
        if not search.filter:
            return _listed(Group, found, total, search)
        return _page(Group, _filtered(Group, found, search), search)

    async def create_group(self, group: Group) -> Group:
        name = self._group_name(group)
        if await repository.find_group_by_name(self.ctx.conn, self.ctx.project_id, self.connection.connection_id, name):
            raise UniquenessException(detail=f"A Group named {name!r} exists.")
        now = self.ctx.clock.now()
        row = await repository.insert_group(
            self.ctx.conn,
            group_id=ids.new_id("scim-group", self.ctx.live),
            project_id=self.ctx.project_id,
            organization_id=self._org_id,
            connection_id=self.connection.connection_id,
            display_name=name,
            display_name_normalized=name.casefold(),
            external_id=group.external_id,
            created_at=now,
            updated_at=now,
        )
        await self._set_members(row, [], await self._members(group))
        return await self._group_of(row)

    async def replace_group(self, group_id: str, group: Group) -> Group:
        return await self._write_group(await self._group(group_id), group)

    async def patch_group(self, group_id: str, body: dict[str, Any]) -> Group:
        row = await self._group(group_id)
        current = await self._group_of(row)
        patch = _patch_op(PatchOp[Group], _entra_member_removals(body))
        _run_patch(patch, current)
        return await self._write_group(row, current)

    async def delete_group(self, group_id: str) -> None:
        row = await self._group(group_id)
        held = [
            m
            for m, _ in (await repository.group_members(self.ctx.conn, self.ctx.project_id, [row.group_id]))[
                row.group_id
            ]
        ]
        await repository.delete_group(self.ctx.conn, self.ctx.project_id, row.group_id)
        # A mapping to the deleted group grants nothing any more; it is dropped from the connection.
        mapping = [a for a in self.connection.group_role_assignments or [] if a.get("group_id") != row.group_id]
        if mapping != list(self.connection.group_role_assignments or []):
            self.connection = await repository.update_connection(
                self.ctx.conn, self.ctx.project_id, self.connection.connection_id, group_role_assignments=mapping
            )
        await roles.sync(self.ctx, self.connection, held)

    def _group_name(self, group: Group) -> str:
        name = (group.display_name or "").strip()
        if not name:
            raise InvalidValueException(detail="displayName is required.")
        return name

    async def _members(self, group: Group) -> dict[str, str | None]:
        """The group's members (id → display), each a User of this connection."""
        wanted: dict[str, str | None] = {}
        for m in group.members or []:
            if m.value:
                wanted[str(m.value)] = m.display
        for member_id in wanted:
            if (
                await members_repo.scim_member(
                    self.ctx.conn, self.ctx.project_id, self._org_id, self.connection.connection_id, member_id
                )
                is None
            ):
                raise InvalidValueException(detail=f"members: {member_id} is not a User of this connection.")
        return wanted

    async def _write_group(self, row: Row[Any], group: Group) -> Group:
        name = self._group_name(group)
        other = await repository.find_group_by_name(
            self.ctx.conn, self.ctx.project_id, self.connection.connection_id, name
        )
        if other is not None and other.group_id != row.group_id:
            raise UniquenessException(detail=f"A Group named {name!r} exists.")
        held = [
            m
            for m, _ in (await repository.group_members(self.ctx.conn, self.ctx.project_id, [row.group_id]))[
                row.group_id
            ]
        ]
        wanted = await self._members(group)
        row = await repository.update_group(
            self.ctx.conn,
            self.ctx.project_id,
            row.group_id,
            display_name=name,
            display_name_normalized=name.casefold(),
            external_id=group.external_id,
            updated_at=self.ctx.clock.now(),
        )
        await self._set_members(row, held, wanted)
        return await self._group_of(row)

    async def _set_members(self, row: Row[Any], held: list[str], wanted: dict[str, str | None]) -> None:
        added = [m for m in wanted if m not in held]
        removed = [m for m in held if m not in wanted]
        await repository.put_group_members(self.ctx.conn, self.ctx.project_id, row.group_id, wanted)
        await repository.remove_group_members(self.ctx.conn, self.ctx.project_id, row.group_id, removed)
        await roles.sync(self.ctx, self.connection, added + removed)


def _filtered(model: Any, resources: list[Any], search: SearchRequest) -> list[Any]:
    if not search.filter:
        return resources
    try:
        compiled = ScimFilter[model](str(search.filter))
        return [r for r in resources if compiled.match(r)]
    except (ValueError, ValidationError) as exc:
        raise InvalidFilterException(detail=f"The filter cannot be read: {exc}") from None


def _page_of(items: list[Any], search: SearchRequest) -> list[Any]:
    """The page `startIndex` (from 1) and `count` (at most MAX_RESULTS) select."""
    start = max(search.start_index or 1, 1)
    count = DEFAULT_COUNT if search.count is None else max(min(search.count, MAX_RESULTS), 0)
    return items[start - 1 : start - 1 + count]


def _listed(model: Any, page: list[Any], total: int, search: SearchRequest) -> Any:
    start = max(search.start_index or 1, 1)
    return ListResponse[model](total_results=total, start_index=start, items_per_page=len(page), resources=page)


def _page(model: Any, resources: list[Any], search: SearchRequest) -> Any:
    return _listed(model, _page_of(resources, search), len(resources), search)


def _patch_op(model: Any, body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body, scim_ctx=ScimContext.RESOURCE_PATCH_REQUEST)
    except ValidationError as exc:
        raise InvalidValueException(detail=_describe(exc)) from None


def _run_patch(patch: Any, resource: Any) -> None:
    try:
        patch.patch(resource)
    except ValidationError as exc:
        raise InvalidValueException(detail=_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors(include_url=False)
    )


def _entra_member_removals(body: dict[str, Any]) -> dict[str, Any]:
    """Entra removes group members with `{"op": "Remove", "path": "members", "value":
    [{"value": id}]}`, which RFC 7644 §3.5.2.2 spells with a filter in the path; the same
    removal is rewritten so, one operation per member, before the patch is read."""
    operations = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list):
        return body
    rewritten: list[Any] = []
    for op in operations:
        if (
            isinstance(op, dict)
            and str(op.get("op", "")).lower() == "remove"
            and str(op.get("path", "")).lower() == "members"
            and isinstance(op.get("value"), list)
        ):
            for item in op["value"]:
                value = item.get("value") if isinstance(item, dict) else None
                if not isinstance(value, str):
                    raise InvalidValueException(detail="members: each removed member needs a value.")
                quoted = value.replace("\\", "\\\\").replace('"', '\\"')
                rewritten.append({"op": "remove", "path": f'members[value eq "{quoted}"]'})
        else:
            rewritten.append(op)
    return {**body, "Operations": rewritten}
