"""Request bodies of the consumer Users API (PY `consumer/api/users.py`).

Unknown fields are ignored (the SDK copies path parameters into the body, and sends
fields keystile does not act on, such as `attributes`)."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import RequestModel


class NameIn(RequestModel):
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None


class CreateUserRequest(RequestModel):
    email: str | None = None
    phone_number: str | None = None
    name: NameIn | None = None
    create_user_as_pending: bool | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    external_id: str | None = None
    roles: list[str] | None = None


class UpdateUserRequest(RequestModel):
    name: NameIn | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    external_id: str | None = None
    roles: list[str] | None = None


class SearchUsersRequest(RequestModel):
    cursor: str | None = None
    limit: int | None = None
    query: Any = None
