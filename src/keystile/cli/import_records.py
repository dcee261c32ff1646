"""The lines `keystile import` reads, and what each becomes (docs/migrating.md).

A line is one JSON object: a consumer User, a B2B Organization or a B2B Member. Each is
checked as a request body is (the same field names as Stytch's create and migrate calls,
unknown fields refused), then created through the users, organizations and members
services, in the caller's transaction. A line whose User, Organization or Member is
already there (by external id, else by email address, or by slug for an Organization)
changes nothing: that is what makes a second run, or a resumed one, safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import ConfigDict, Field, ValidationError, model_validator

from keystile import errors
from keystile.core import emails as email_rules
from keystile.core import ids, phones
from keystile.core.authz import check_role_ids
from keystile.core.context import Context
from keystile.core.schemas import RequestModel
from keystile.members import repository as members_repo
from keystile.members import service as members
from keystile.organizations import repository as orgs_repo
from keystile.organizations import service as orgs
from keystile.passwords import repository as passwords_repo
from keystile.passwords import service as passwords
from keystile.users import repository as users_repo
from keystile.users import service as users

HASH_TYPES = ("bcrypt", "md_5", "argon_2i", "argon_2id", "sha_1", "sha_512", "scrypt", "phpass", "pbkdf_2")
# Which `<type>_config` goes with which hash type (PY consumer/models/passwords.py MD5Config …
# PBKDF2Config). Whether the hash needs it (a scrypt hash in PHC form carries its parameters)
# is the passwords area's check, the one passwords.migrate makes.
CONFIGS: dict[str, str] = {
    "md_5": "md_5_config",
    "sha_1": "sha_1_config",
    "sha_512": "sha_512_config",
    "argon_2i": "argon_2_config",
    "argon_2id": "argon_2_config",
    "scrypt": "scrypt_config",
    "pbkdf_2": "pbkdf_2_config",
}
CONFIG_FIELDS = ("md_5_config", "sha_1_config", "sha_512_config", "argon_2_config", "scrypt_config", "pbkdf_2_config")


class Line(RequestModel):
    """A line's object: strings storable and bounded as in a request; unknown fields refused
    (a misspelt `email_verfied` must not be dropped without a word)."""

    model_config = ConfigDict(extra="forbid", str_max_length=4096)


class Salts(Line):
    prepend_salt: str = ""
    append_salt: str = ""


class Argon2Config(Line):
    salt: str
    iteration_amount: int = Field(ge=1)
    memory: int = Field(ge=1)
    threads: int = Field(ge=1)
    key_length: int = Field(ge=1)


class ScryptConfig(Line):
    salt: str
    n_parameter: int = Field(ge=2)
    r_parameter: int = Field(ge=1)
    p_parameter: int = Field(ge=1)
    key_length: int = Field(ge=1)


class PBKDF2Config(Line):
    salt: str
    iteration_amount: int = Field(ge=1)
    key_length: int = Field(ge=1)
    algorithm: str = "sha256"


class PasswordHash(Line):
    """A password hash as `passwords.migrate` takes it: `hash_type`, `hash` and the config of
    that type. keystile verifies it at the first login and then re-hashes with argon2id."""

    hash_type: Literal["bcrypt", "md_5", "argon_2i", "argon_2id", "sha_1", "sha_512", "scrypt", "phpass", "pbkdf_2"]
    hash: str = Field(min_length=1)
    md_5_config: Salts | None = None
    sha_1_config: Salts | None = None
    sha_512_config: Salts | None = None
    argon_2_config: Argon2Config | None = None
    scrypt_config: ScryptConfig | None = None
    pbkdf_2_config: PBKDF2Config | None = None

    @model_validator(mode="after")
    def _config_of_its_type(self) -> PasswordHash:
        wanted = CONFIGS.get(self.hash_type)
        for name in CONFIG_FIELDS:
            if getattr(self, name) is not None and name != wanted:
                raise ValueError(f"{name} does not go with hash_type {self.hash_type}")
        return self

    def config(self) -> dict[str, Any] | None:
        """The salts and parameters of its type, as passwords.migrate keeps them."""
        given = getattr(self, CONFIGS.get(self.hash_type, ""), None)
        return given.model_dump() if given is not None else None


class Name(Line):
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None


class UserLine(Line):
    """A consumer User (stytch.com/docs/api/create-user, /password-migrate)."""

    type: Literal["user"] = "user"
    email: str
    email_verified: bool = False
    name: Name | None = None
    external_id: str | None = None
    phone_number: str | None = None
    phone_number_verified: bool = False
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    password: PasswordHash | None = None


class OrganizationLine(Line):
    """A B2B Organization (stytch.com/docs/b2b/api/create-organization): its settings as
    `organizations.create` takes them. Found again by `organization_external_id`, else by
    `organization_slug`: one of them is required, or a second run would make another."""

    model_config = ConfigDict(extra="allow")  # the policy settings, checked by the organizations service

    type: Literal["organization"] = "organization"
    organization_name: str
    organization_slug: str | None = None
    organization_external_id: str | None = None
    organization_logo_url: str | None = None
    trusted_metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _findable(self) -> OrganizationLine:
        if not self.organization_slug and not self.organization_external_id:
            raise ValueError("an organization needs organization_external_id or organization_slug")
        return self

    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class MemberLine(Line):
    """A B2B Member (stytch.com/docs/b2b/api/create-member, /passwords-migrate) of the
    Organization named by `organization_id` (its id, slug or external id, as elsewhere)."""

    type: Literal["member"] = "member"
    organization_id: str
    email_address: str
    # Absent: verified when the line brings a password, as B2B passwords.migrate marks it.
    email_verified: bool | None = None
    name: str | None = None
    external_id: str | None = None
    roles: list[str] | None = None
    is_breakglass: bool = False
    mfa_phone_number: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    password: PasswordHash | None = None


Record = UserLine | OrganizationLine | MemberLine
KINDS: dict[str, type[Line]] = {"user": UserLine, "organization": OrganizationLine, "member": MemberLine}


class Refused(Exception):
    """A line that cannot be imported; its message is the reason shown with its number."""


def _reason(exc: ValidationError) -> str:
    parts = []
    for item in exc.errors(include_url=False)[:3]:
        where = ".".join(str(p) for p in item.get("loc", ()))
        if item.get("type") == "extra_forbidden":
            parts.append(f"unknown field {where}")
            continue
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse(text: str | bytes) -> Record:
    """One line as its record; `Refused` with the reason."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise Refused("not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused("not a JSON object")
    kind = data.get("type")
    if kind is None:
        kind = "member" if "organization_id" in data else "organization" if "organization_name" in data else "user"
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise Refused(f"type must be user, organization or member, not {kind!r}")
    try:
        record = model.model_validate(data)
    except ValidationError as exc:
        raise Refused(_reason(exc)) from None
    return record  # type: ignore[return-value]


# --- Applying a record --------------------------------------------------------------------


@dataclass
class Seen:
    """Keys already met in this run (line number each), to refuse a repeat within the file."""

    users: dict[str, int] = field(default_factory=dict)
    organizations: dict[str, int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def check(table: dict[str, int], keys: list[str], number: int = 0) -> None:
        """Refuse a line naming what an earlier line of the file (imported or skipped) named."""
        for key in keys:
            first = table.get(key)
            if first is not None and first != number:
                raise Refused(f"repeats {key.split(':', 1)[-1]} of line {first}")

    @staticmethod
    def keep(table: dict[str, int], keys: list[str], number: int, outcome: str) -> str:
        """Remember a line that was imported or skipped (a refused one leaves nothing)."""
        for key in keys:
            table[key] = number
        return outcome


@dataclass
class Known:
    """What a batch's users already are in the database, read in two queries per batch
    (a second run skips without a lookup per line): normalized email → user_id, external id
    → user_id."""

    emails: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)


async def known_users(ctx: Context, records: list[Record]) -> Known:

    lines = [r for r in records if isinstance(r, UserLine)]
    if not lines:
        return Known()
    emails = await users_repo.owners_of_emails(
        ctx.conn, ctx.project_id, [email_rules.normalize(u.email) for u in lines]
    )
    external = await users_repo.owners_of_external_ids(
        ctx.conn, ctx.project_id, [u.external_id for u in lines if u.external_id]
    )
    numbers = [_e164(u.phone_number) for u in lines if u.phone_number]
    phones = await users_repo.owners_of_phones(ctx.conn, ctx.project_id, [n for n in numbers if n])
    return Known(emails, external, phones)


def _e164(number: str) -> str | None:

    try:
        return phones.normalize(number)
    except errors.StytchError:
        return None  # refused with its reason when its line is planned


@dataclass
class PlannedUser:
    """A User line checked as users.create checks one, ready to insert with others."""

    number: int
    line: UserLine
    keys: list[str]
    user: dict[str, Any]
    email: dict[str, Any]
    phone: dict[str, Any] | None
    password: dict[str, Any] | None


def plan_user(ctx: Context, number: int, line: UserLine, seen: Seen, known: Known) -> PlannedUser | str:
    """Check a User line without writing anything: "skipped" when its User is there, else
    the rows to insert. `Refused` or a Stytch error (as users.create would answer) when it
    cannot be imported. Repeats within the file are refused; the first line wins."""

    normalized = email_rules.normalize(line.email)
    keys = [f"email:{normalized}"] + ([f"external_id:{line.external_id}"] if line.external_id else [])
    number_e164 = phones.normalize(line.phone_number) if line.phone_number else None
    if number_e164:
        keys.append(f"phone_number:{number_e164}")
    seen.check(seen.users, keys, number)
    owner = known.emails.get(normalized)
    if line.external_id:
        if known.external_ids.get(line.external_id) is not None:
            return seen.keep(seen.users, keys, number, "skipped")
        if owner is not None:
            raise Refused(f"{line.email} belongs to {owner}, whose external_id is not {line.external_id}")
        users.check_external_id(line.external_id)
    elif owner is not None:
        return seen.keep(seen.users, keys, number, "skipped")
    email = email_rules.validate(line.email)
    if number_e164 and number_e164 in known.phones:
        raise errors.DuplicatePhoneNumber()
    name = users.merge_name(None, line.name.model_dump(exclude_none=True) if line.name else None)
    trusted = users.merge_metadata("trusted_metadata", {}, line.trusted_metadata)
    untrusted = users.merge_metadata("untrusted_metadata", {}, line.untrusted_metadata)
    if line.password is not None:
        passwords.check_migrated(line.password.hash_type, line.password.hash, line.password.config())
    now = ctx.clock.now()
    user_id = ids.user_id(ctx.live)
    planned = PlannedUser(
        number,
        line,
        keys,
        user={
            "user_id": user_id,
            "project_id": ctx.project_id,
            "status": "active",
            "name": name,
            "external_id": line.external_id,
            "trusted_metadata": trusted,
            "untrusted_metadata": untrusted,
            "created_at": now,
            "updated_at": now,
        },
        email={
            "email_id": ids.email_id(ctx.live),
            "project_id": ctx.project_id,
            "user_id": user_id,
            "email": email,
            "email_normalized": normalized,
            "verified": line.email_verified,
            "created_at": now,
        },
        phone=None
        if number_e164 is None
        else {
            "phone_id": ids.new_id("phone-number", ctx.live),
            "project_id": ctx.project_id,
            "user_id": user_id,
            "phone_number": number_e164,
            "verified": line.phone_number_verified,
            "created_at": now,
        },
        password=None
        if line.password is None
        else {
            "password_id": ids.new_id(passwords.ID_PREFIX, ctx.live),
            "user_id": user_id,
            "scheme": line.password.hash_type,
            "hash": line.password.hash,
            "config": line.password.config() or None,
        },
    )
    seen.keep(seen.users, keys, number, "created")
    return planned


async def insert_users(ctx: Context, planned: list[PlannedUser]) -> None:
    """Insert planned Users, their emails, phone numbers and password hashes: a few
    statements for the whole list. A unique constraint error (a writer that created one of
    them since the plan) is the caller's: it then creates them one by one."""

    await users_repo.insert_many(
        ctx.conn,
        [p.user for p in planned],
        [p.email for p in planned],
        [p.phone for p in planned if p.phone is not None],
    )
    await passwords_repo.put_new_for_users(
        ctx.conn, ctx.project_id, [p.password for p in planned if p.password is not None], ctx.clock.now()
    )


async def apply(ctx: Context, number: int, record: Record, seen: Seen, known: Known) -> str:
    """Create what the line describes, one line at a time through the services: "created",
    or "skipped" when it is already there. `Refused` (or a Stytch error) when it cannot be;
    the caller's savepoint undoes its writes. (User lines are planned and inserted many at a
    time, `plan_user` and `insert_users`; this is their way when that fails.)"""
    if isinstance(record, UserLine):
        return await _user(ctx, number, record, seen, known)
    if isinstance(record, OrganizationLine):
        return await _organization(ctx, number, record, seen)
    return await _member(ctx, number, record, seen)


async def _user(ctx: Context, number: int, line: UserLine, seen: Seen, known: Known) -> str:

    email = email_rules.validate(line.email)
    normalized = email_rules.normalize(email)
    keys = [f"email:{normalized}"] + ([f"external_id:{line.external_id}"] if line.external_id else [])
    seen.check(seen.users, keys, number)
    owner = known.emails.get(normalized)
    if line.external_id:
        by_external = known.external_ids.get(line.external_id)
        if by_external is not None:
            return seen.keep(seen.users, keys, number, "skipped")
        if owner is not None:
            raise Refused(f"{email} belongs to {owner}, whose external_id is not {line.external_id}")
    elif owner is not None:
        return seen.keep(seen.users, keys, number, "skipped")
    row, email_row, phone = await users.create_user_with(
        ctx,
        email=email,
        phone_number=line.phone_number,
        pending=False,
        name=line.name.model_dump(exclude_none=True) if line.name else None,
        trusted_metadata=line.trusted_metadata,
        untrusted_metadata=line.untrusted_metadata,
        external_id=line.external_id,
    )
    if line.email_verified and email_row is not None:
        await users.verify_email(ctx, email_row.email_id)
    if line.phone_number_verified and phone is not None:
        await users.verify_phone(ctx, phone.phone_id)
    if line.password is not None:
        await store_password(ctx, line.password, user_id=row.user_id)
    return seen.keep(seen.users, keys, number, "created")


async def _organization(ctx: Context, number: int, line: OrganizationLine, seen: Seen) -> str:

    keys = ([f"external_id:{line.organization_external_id}"] if line.organization_external_id else []) + (
        [f"slug:{line.organization_slug}"] if line.organization_slug else []
    )
    seen.check(seen.organizations, keys)
    if line.organization_external_id:
        orgs.validate_external_id(line.organization_external_id)
        if await orgs_repo.find_by_external_id(ctx.conn, ctx.project_id, line.organization_external_id):
            return seen.keep(seen.organizations, keys, number, "skipped")
    elif line.organization_slug and await orgs_repo.slug_taken(ctx.conn, ctx.project_id, line.organization_slug):
        return seen.keep(seen.organizations, keys, number, "skipped")
    await orgs.create_organization(
        ctx,
        name=line.organization_name,
        slug=line.organization_slug,
        logo_url=line.organization_logo_url,
        trusted_metadata=line.trusted_metadata,
        external_id=line.organization_external_id,
        settings=line.settings(),
    )
    return seen.keep(seen.organizations, keys, number, "created")


async def _member(ctx: Context, number: int, line: MemberLine, seen: Seen) -> str:

    organization = await orgs_repo.find(ctx.conn, ctx.project_id, line.organization_id)
    if organization is None:
        raise Refused(f"no organization {line.organization_id!r} (by id, slug or external id) in this project")
    org_id = organization.organization_id
    email = email_rules.validate(line.email_address)
    keys = [f"{org_id}:{email_rules.normalize(email)}"]
    if line.external_id:
        orgs.validate_external_id(line.external_id, "external_id")
        keys.append(f"{org_id}:external_id {line.external_id}")
    seen.check(seen.members, keys)
    by_email = await members_repo.find_by_email(ctx.conn, ctx.project_id, org_id, email)
    if line.external_id:
        by_external = await members_repo.find(ctx.conn, ctx.project_id, org_id, line.external_id)
        if by_external is not None and by_external.status != "deleted":
            return seen.keep(seen.members, keys, number, "skipped")
        if by_email is not None:
            raise Refused(f"{email} is Member {by_email.member_id}, whose external_id is not {line.external_id}")
    elif by_email is not None:
        return seen.keep(seen.members, keys, number, "skipped")
    roles = members.direct_roles(line.roles or [])
    await check_role_ids(ctx, organization, roles)
    member = await members.create_member(
        ctx,
        organization,
        email=email,
        status="active",
        name=line.name,
        email_verified=line.email_verified if line.email_verified is not None else line.password is not None,
        roles=roles,
        external_id=line.external_id,
        trusted_metadata=line.trusted_metadata,
        untrusted_metadata=line.untrusted_metadata,
        is_breakglass=line.is_breakglass,
        mfa_phone_number=line.mfa_phone_number,
    )
    if line.password is not None:
        await store_password(ctx, line.password, member_id=member.member_id)
    return seen.keep(seen.members, keys, number, "created")


async def store_password(
    ctx: Context, password: PasswordHash, *, user_id: str | None = None, member_id: str | None = None
) -> None:
    """Keep a hash made elsewhere as the User's or Member's password, as passwords.migrate
    does (the same check of the hash, `invalid_hash` when it cannot be of its type): verified
    as its type at the first login, then re-hashed with argon2id."""

    owner = passwords_repo.user(user_id) if user_id else passwords_repo.member(member_id or "")
    await passwords.store_migrated(ctx, owner, password.hash_type, password.hash, password.config())


async def refresh_statistics(ctx: Context) -> None:
    """After many rows: the planner's statistics of what the import writes (PostgreSQL)."""
    await users_repo.refresh_statistics(ctx.conn)
    await passwords_repo.refresh_statistics(ctx.conn)
    await members_repo.refresh_statistics(ctx.conn)
