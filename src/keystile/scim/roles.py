"""Roles that SCIM groups grant (`scim_connection_group`): a member of a directory group
that the connection maps to a role holds the role, shown in `roles[].sources` with the
connection and the group. Recomputed from the memberships whenever they or the mapping change."""

from __future__ import annotations

from typing import Any

from keystile.core.context import Context
from keystile.members import repository as members_repo
from keystile.scim import repository

SOURCE = "scim_connection_group"


def _entries(connection: Any, groups: list[Any]) -> list[dict[str, Any]]:
    mapping = connection.group_role_assignments or []
    return [
        {
            "role_id": assignment["role_id"],
            "source": {
                "type": SOURCE,
                "details": {"connection_id": connection.connection_id, "group_id": group.group_id},
            },
        }
        for group in groups
        for assignment in mapping
        if assignment.get("group_id") == group.group_id
    ]


async def sync(ctx: Context, connection: Any, member_ids: list[str]) -> None:
    """Bring these members' SCIM-granted roles, and the groups their registration lists, in
    line with their groups of this connection."""
    member_ids = list(dict.fromkeys(member_ids))
    found = await repository.member_groups(ctx.conn, ctx.project_id, connection.connection_id, member_ids)
    for member_id in member_ids:
        groups = found[member_id]
        member = await members_repo.find_by_id(ctx.conn, ctx.project_id, member_id)
        if member is None:
            continue
        values: dict[str, Any] = {}
        registration = member.scim_registration
        if registration and registration.get("connection_id") == connection.connection_id:
            attributes = dict(registration.get("scim_attributes") or {})
            attributes["groups"] = [{"value": g.group_id, "display": g.display_name} for g in groups]
            values["scim_registration"] = {**registration, "scim_attributes": attributes}
        await members_repo.replace_granted_roles(
            ctx.conn,
            ctx.project_id,
            member_id,
            {SOURCE},
            _entries(connection, groups),
            details={"connection_id": connection.connection_id},
            **values,
        )


async def drop(ctx: Context, connection: Any, member_ids: list[str]) -> None:
    """The connection grants these members nothing any more (it is being deleted)."""
    for member_id in dict.fromkeys(member_ids):
        await members_repo.replace_granted_roles(
            ctx.conn, ctx.project_id, member_id, {SOURCE}, [], details={"connection_id": connection.connection_id}
        )
