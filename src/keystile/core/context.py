"""Per-request context: the authenticated project, its transaction, the clock, the request id."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from keystile import errors
from keystile.core import crypto, ratelimit
from keystile.core.clock import Clock
from keystile.models.projects import project_secrets, projects

if TYPE_CHECKING:
    from keystile.core.state import AppState


@dataclass(frozen=True, slots=True)
class Project:
    project_id: str
    name: str
    live: bool
    public_token: str


@dataclass(slots=True)
class Context:
    state: AppState
    conn: AsyncConnection
    project: Project
    request_id: str
    headers: dict[str, str] = field(default_factory=dict)
    after_commit: list[Any] = field(default_factory=list)

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def project_id(self) -> str:
        return self.project.project_id

    @property
    def live(self) -> bool:
        return self.project.live


def _basic_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise errors.UnauthorizedCredentials()
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise errors.UnauthorizedCredentials() from None
    project_id, sep, secret = decoded.partition(":")
    if not sep or not project_id or not secret:
        raise errors.UnauthorizedCredentials()
    return project_id, secret


async def authenticate_project(conn: AsyncConnection, project_id: str, secret: str) -> Project:
    rows = (
        await conn.execute(
            select(projects, project_secrets.c.secret_hash)
            .join(project_secrets, project_secrets.c.project_id == projects.c.project_id)
            .where(projects.c.project_id == project_id)
        )
    ).all()
    # Compare against every stored secret so timing does not reveal which one matched.
    ok = False
    for row in rows:
        ok |= crypto.matches(secret, row.secret_hash)
    if not ok:
        raise errors.UnauthorizedCredentials()
    row = rows[0]
    return Project(row.project_id, row.name, row.live, row.public_token)


async def get_context(request: Request) -> AsyncIterator[Context]:
    state: AppState = request.app.state.keystile
    project_id, secret = _basic_credentials(request)
    async with state.transaction() as conn:
        project = await authenticate_project(conn, project_id, secret)
        ctx = Context(
            state=state,
            conn=conn,
            project=project,
            request_id=request.state.request_id,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        await ratelimit.hit_project(ctx)
        yield ctx
    for callback in ctx.after_commit:
        callback()


# `scope="function"`: the transaction commits before the response is sent, so a client
# never sees a success whose writes could still be lost.
Ctx = Annotated[Context, Depends(get_context, scope="function")]
