"""The request Context of a browser-facing SSO route, which carries no project secret: the
project comes from the `public_token` of the start URL, or from the connection a callback
names. Commits like an API request (`core/context.py close_context`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from keystile.core.context import Context, LazyConnection, Project, close_context
from keystile.core.state import AppState
from keystile.projects import repository as projects_repo
from keystile.sso import repository
from keystile.sso.errors import ConnectionNotFound, InvalidPublicToken


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.keystile
    return state


@asynccontextmanager
async def _context(request: Request, project: Project) -> AsyncIterator[Context]:
    state = _state(request)
    ctx = Context(
        state=state,
        conn=LazyConnection(state.db),
        project=project,
        request_id=request.state.request_id,
        headers=request.headers,
    )
    try:
        yield ctx
    except BaseException as exc:
        await close_context(ctx, exc)
        raise
    await close_context(ctx, None)


@asynccontextmanager
async def by_public_token(request: Request, public_token: str) -> AsyncIterator[Context]:
    async with _state(request).transaction() as conn:
        row = await projects_repo.find_by_public_token(conn, public_token) if public_token else None
    if row is None:
        raise InvalidPublicToken()
    async with _context(request, Project.from_row(row)) as ctx:
        yield ctx


@asynccontextmanager
async def by_connection(request: Request, connection_id: str) -> AsyncIterator[Context]:
    """The context of the project that owns `connection_id` (connection_not_found otherwise)."""
    async with _state(request).transaction() as conn:
        connection = await repository.find_anywhere(conn, connection_id)
        row = await projects_repo.find_project(conn, connection.project_id) if connection else None
    if row is None:
        raise ConnectionNotFound()
    async with _context(request, Project.from_row(row)) as ctx:
        yield ctx
