"""The users area: consumer users, their emails and search."""

from __future__ import annotations

from keystile import errors
from keystile.core.area import Area
from keystile.users import routes

area = Area(
    name="users",
    routers=[routes.router],
    errors=[
        errors.UserNotFound,
        errors.EmailNotFound,
        errors.DuplicateEmail,
        errors.PhoneNumberNotFound,
        errors.DuplicatePhoneNumber,
        errors.DuplicateUserExternalId,
        *errors.search_errors("user_search").values(),
    ],
    # Member and user emails share the `email-` prefix, as Stytch's do.
    id_prefixes=["user", "email", "phone-number"],
)
