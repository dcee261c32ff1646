"""A project's password strength policy (stytch.com/docs/guides/passwords/strength-policy):
zxcvbn (Stytch's default: a score of 3 or more) or LUDS (a minimum length and a number of
character classes: lower case, upper case, digits, symbols), and whether a password found in a
breach is refused when it is set. Declared in keystile.toml (`[projects.passwords]`), stored
on the project row (`projects.password_policy`), read by the passwords area.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from keystile.models.projects import projects


class PasswordPolicy(BaseModel):
    """`[projects.passwords]` in keystile.toml; every key optional (docs/configuration.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # "zxcvbn": valid when zxcvbn scores it 3 or more (of 0–4). "luds": valid when it has
    # luds_min_length characters and luds_complexity of the four character classes.
    strength_policy: Literal["zxcvbn", "luds"] = "zxcvbn"
    luds_min_length: int = Field(default=8, ge=1, le=32)
    luds_complexity: int = Field(default=3, ge=0, le=4)
    # Refuse a new password found in a breach (the shipped list, and Have I Been Pwned when
    # the server turns it on); off, `breached_password` is always false.
    breach_detection_on_create: bool = True
    # A login whose password is found breached must reset it first (Stytch's default).
    breach_detection_on_authenticate: bool = True
    # B2B: one password per email address, good in every organization of the address and
    # in the discovery password endpoints (Stytch's cross-organization passwords); off, a
    # password belongs to one Member (organization-scoped, Stytch's default).
    cross_org_passwords: bool = False


DEFAULT = PasswordPolicy()


async def load(conn: Any, project_id: str) -> PasswordPolicy:
    """The project's policy (Stytch's default where none is stored)."""
    stored = await conn.scalar(select(projects.c.password_policy).where(projects.c.project_id == project_id))
    return DEFAULT if not stored else PasswordPolicy.model_validate(stored)


async def store(conn: Any, project_id: str, policy: PasswordPolicy | None) -> None:
    """Replace the project's policy (None: back to the default)."""
    value = None if policy is None else policy.model_dump()
    await conn.execute(update(projects).where(projects.c.project_id == project_id).values(password_policy=value))
