"""The project's declared RBAC policy in `rbac_policies` (a project-wide setting, as redirect
URLs are); a project without a row has none declared (Stytch's defaults alone)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from keystile.core.db import Connection
from keystile.core.policy import Policy, effective
from keystile.models.projects import rbac_policies


async def declared(conn: Connection, project_id: str) -> Policy:
    row = (await conn.execute(select(rbac_policies.c.policy).where(rbac_policies.c.project_id == project_id))).first()
    return Policy.model_validate(row.policy) if row is not None else Policy()


async def project_policy(conn: Connection, project_id: str) -> Policy:
    """The policy keystile enforces for the project (declaration on top of Stytch's defaults)."""
    return effective(await declared(conn, project_id))


async def save(conn: Connection, project_id: str, policy: Policy, now: datetime) -> None:
    """Replace the project's declared policy (already validated by the Policy model)."""
    document = policy.model_dump()
    done = await conn.execute(
        update(rbac_policies).where(rbac_policies.c.project_id == project_id).values(policy=document, updated_at=now)
    )
    if done.rowcount == 0:
        await conn.execute(insert(rbac_policies).values(project_id=project_id, policy=document, updated_at=now))


async def reset(conn: Connection, project_id: str) -> None:
    await conn.execute(delete(rbac_policies).where(rbac_policies.c.project_id == project_id))
