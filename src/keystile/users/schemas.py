"""Request bodies of the consumer Users API (PY `consumer/api/users.py`).

Unknown fields are ignored (the SDK copies path parameters into the body, and sends
fields keystile does not act on, such as `attributes`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class NameIn(Body):
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None


class CreateUserRequest(Body):
    email: str | None = None
    phone_number: str | None = None
    name: NameIn | None = None
    create_user_as_pending: bool | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    external_id: str | None = None
    roles: list[str] | None = None


class UpdateUserRequest(Body):
    name: NameIn | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    external_id: str | None = None
    roles: list[str] | None = None


class SearchUsersRequest(Body):
    cursor: str | None = None
    limit: int | None = None
    query: Any = None
