"""The SDKs' `_async` methods, each proven once, on SQLite and PostgreSQL: every other SDK test
drives the plain methods, and this module drives through `stytch.B2BClient` and
`stytch.Client`'s async client (aiohttp) every method those tests use, checking what it
parses. Its last two tests fail when a served `/v1/` endpoint was not reached through the
async client here, or when an SDK method used anywhere in the suite has no `_async` call here:
an endpoint or SDK method added later gets its async check in this module.

The functions are module-level (no classes), so pytest-xdist's loadscope runs the whole
module on one worker, in order, and the two coverage tests see what the checks recorded."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
import stytch
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError

from tests.flows import DOCUMENTS_POLICY, impersonate, new_email, new_external_id, new_slug, set_policy
from tests.scim_client import ScimClient, okta_user, scim_email
from tests.sdk.test_consumer_otps import new_number
from tests.sdk.test_sso_oidc import sso_token
from tests.support import Inbox, Server, link_params, served_endpoints


@dataclass
class Seen:
    """What went through the async clients on one backend: endpoints (method, path) and
    SDK methods (`b2b organizations.members.create`), and which checks finished."""

    requests: set[tuple[str, str]] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)


SEEN: dict[str, Seen] = {}


class Recording:
    """An SDK client (or one of its namespaces) that notes every `_async` method called."""

    def __init__(self, target: Any, product: str, seen: Seen, prefix: str = "") -> None:
        self._target, self._product, self._seen, self._prefix = target, product, seen, prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.endswith("_async") and callable(value):
            self._seen.methods.add(f"{self._product} {self._prefix}{name.removesuffix('_async')}")
            return value
        if callable(value) or isinstance(value, (str, int, float, bool, type(None))):
            return value
        return Recording(value, self._product, self._seen, f"{self._prefix}{name}.")


def recording_session(seen: Seen) -> aiohttp.ClientSession:
    async def on_request_start(session: Any, context: Any, params: aiohttp.TraceRequestStartParams) -> None:
        seen.requests.add((params.method, params.url.path))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    return aiohttp.ClientSession(trace_configs=[trace])


@pytest.fixture
def seen(server: Server, request: pytest.FixtureRequest) -> Iterator[Seen]:
    """This backend's record; the test is noted as finished if it passed."""
    recorded = SEEN.setdefault(server.backend, Seen())
    failed = request.session.testsfailed
    yield recorded
    if request.session.testsfailed == failed:
        recorded.finished.add(request.node.originalname)


@pytest.fixture
async def b2b(project: Any, seen: Seen) -> AsyncIterator[Any]:
    session = recording_session(seen)
    client = stytch.B2BClient(
        project.project_id, project.secret, environment=project.server.base_url, async_session=session
    )
    yield Recording(client, "b2b", seen)
    await session.close()


@pytest.fixture
async def consumer(project: Any, seen: Seen) -> AsyncIterator[Any]:
    session = recording_session(seen)
    client = stytch.Client(
        project.project_id, project.secret, environment=project.server.base_url, async_session=session
    )
    yield Recording(client, "consumer", seen)
    await session.close()


async def async_error_of(call: Any) -> Any:
    """tests/flows.py error_of for an awaitable: the error details of an `_async` call that must fail."""
    with pytest.raises(StytchError) as caught:
        await call
    return caught.value.details


def leeway(server: Server) -> int:
    """The test server's clock may run ahead of the wall clock the SDK verifies JWTs with."""
    return int(server.clock.offset.total_seconds()) + 5


async def discovered(b2b: Any, inbox: Inbox, email: str) -> Any:
    await b2b.magic_links.email.discovery.send_async(email_address=email)
    return await b2b.magic_links.discovery.authenticate_async(discovery_magic_links_token=inbox.latest_token(email))


async def signed_up(b2b: Any, inbox: Inbox, email: str, name: str = "Acme", **settings: Any) -> Any:
    ist = (await discovered(b2b, inbox, email)).intermediate_session_token
    return await b2b.discovery.organizations.create_async(
        intermediate_session_token=ist, organization_name=name, **settings
    )


# --- B2B ----------------------------------------------------------------------------------


async def test_b2b_discovery(b2b, inbox):
    email = new_email()
    sent = await b2b.magic_links.email.discovery.send_async(email_address=email)
    assert sent.status_code == 200
    authed = await b2b.magic_links.discovery.authenticate_async(discovery_magic_links_token=inbox.latest_token(email))
    assert authed.email_address == email
    assert authed.discovered_organizations == []

    created = await b2b.discovery.organizations.create_async(
        intermediate_session_token=authed.intermediate_session_token, organization_name="Acme"
    )
    assert created.member_authenticated is True
    assert created.member.email_address == email
    assert created.session_token and created.session_jwt

    again = await discovered(b2b, inbox, email)
    assert [d.organization.organization_id for d in again.discovered_organizations] == [
        created.organization.organization_id
    ]
    listed = await b2b.discovery.organizations.list_async(intermediate_session_token=again.intermediate_session_token)
    assert listed.email_address == email
    assert [d.organization.organization_id for d in listed.discovered_organizations] == [
        created.organization.organization_id
    ]
    exchanged = await b2b.discovery.intermediate_sessions.exchange_async(
        intermediate_session_token=again.intermediate_session_token,
        organization_id=created.organization.organization_id,
    )
    assert exchanged.member_authenticated is True
    assert exchanged.member_id == created.member_id
    assert exchanged.member_session.organization_id == created.organization.organization_id


async def test_b2b_email_magic_links(b2b, inbox):
    org = (
        await signed_up(
            b2b,
            inbox,
            new_email("founder"),
            email_allowed_domains=["acme.test"],
            email_jit_provisioning="RESTRICTED",
            email_invites="ALL_ALLOWED",
        )
    ).organization
    email = new_email("bob")
    signup = await b2b.magic_links.email.login_or_signup_async(organization_id=org.organization_id, email_address=email)
    assert signup.member_created is True
    assert signup.member.status == "pending"
    authed = await b2b.magic_links.authenticate_async(
        magic_links_token=inbox.latest_token(email), session_duration_minutes=60
    )
    assert authed.member_id == signup.member_id
    assert authed.member.status == "active"
    assert authed.member_session.organization_id == org.organization_id

    invited_email = new_email("carol", "elsewhere.test")
    invited = await b2b.magic_links.email.invite_async(
        organization_id=org.organization_id, email_address=invited_email, name="Carol"
    )
    assert invited.member.status == "invited"
    joined = await b2b.magic_links.authenticate_async(magic_links_token=inbox.latest_token(invited_email))
    assert joined.member.member_id == invited.member_id
    assert joined.member.status == "active"
    assert joined.member.name == "Carol"

    spent = await async_error_of(
        b2b.magic_links.authenticate_async(magic_links_token=inbox.latest_token(invited_email))
    )
    assert spent.error_type == "unable_to_auth_magic_link"


async def test_b2b_organizations(b2b):
    slug = new_slug()
    created = (
        await b2b.organizations.create_async(
            organization_name="Acme", organization_slug=slug, organization_external_id=new_external_id("crm")
        )
    ).organization
    assert created.organization_slug == slug
    got = await b2b.organizations.get_async(organization_id=slug)
    assert got.organization.organization_id == created.organization_id

    updated = await b2b.organizations.update_async(
        organization_id=created.organization_id, organization_name="Renamed", trusted_metadata={"plan": "pro"}
    )
    assert updated.organization.organization_name == "Renamed"
    assert updated.organization.trusted_metadata == {"plan": "pro"}

    found = await b2b.organizations.search_async(
        query={"operator": "AND", "operands": [{"filter_name": "organization_slugs", "filter_value": [slug]}]}
    )
    assert [o.organization_id for o in found.organizations] == [created.organization_id]
    assert found.results_metadata.total == 1

    await b2b.organizations.members.create_async(organization_id=created.organization_id, email_address=new_email())
    metrics = await b2b.organizations.metrics_async(organization_id=created.organization_id)
    assert metrics.member_count == 1

    cleared = await b2b.organizations.delete_external_id_async(organization_id=created.organization_id)
    assert cleared.organization.organization_external_id in (None, "")

    deleted = await b2b.organizations.delete_async(organization_id=created.organization_id)
    assert deleted.organization_id == created.organization_id
    gone = await async_error_of(b2b.organizations.get_async(organization_id=created.organization_id))
    assert gone.error_type == "organization_not_found"


async def test_b2b_members(b2b, inbox):
    org = (await b2b.organizations.create_async(organization_name="Acme", organization_slug=new_slug())).organization
    members = b2b.organizations.members
    email = new_email()
    member = (
        await members.create_async(
            organization_id=org.organization_id, email_address=email, name="Ada", external_id="emp-1"
        )
    ).member
    assert member.status == "active"

    by_email = await members.get_async(organization_id=org.organization_id, email_address=email.upper())
    assert by_email.member_id == member.member_id
    anywhere = await members.dangerously_get_async(member_id=member.member_id)
    assert anywhere.organization.organization_id == org.organization_id

    renamed = await members.update_async(organization_id=org.organization_id, member_id="emp-1", name="Ada L.")
    assert renamed.member.name == "Ada L."
    found = await members.search_async(
        organization_ids=[org.organization_id],
        query={"operator": "AND", "operands": [{"filter_name": "member_emails", "filter_value": [email]}]},
    )
    assert [m.member_id for m in found.members] == [member.member_id]

    await b2b.magic_links.email.login_or_signup_async(organization_id=org.organization_id, email_address=email)
    await b2b.magic_links.authenticate_async(magic_links_token=inbox.latest_token(email))
    deleted = await members.delete_async(organization_id=org.organization_id, member_id=member.member_id)
    assert deleted.member_id == member.member_id
    missing = await async_error_of(members.get_async(organization_id=org.organization_id, member_id=member.member_id))
    assert missing.error_type == "member_not_found"
    back = await members.reactivate_async(organization_id=org.organization_id, member_id=member.member_id)
    assert back.member.status == "active"

    target = new_email("next")
    started = await members.start_email_update_async(
        organization_id=org.organization_id, member_id=member.member_id, email_address=target
    )
    assert started.member.email_address == email
    assert inbox.latest(target)["links"]

    moved = await members.update_async(
        organization_id=org.organization_id, member_id=member.member_id, email_address=new_email("moved")
    )
    retired = moved.member.retired_email_addresses[0]
    assert retired.email_address == email
    unlinked = await members.unlink_retired_email_async(
        organization_id=org.organization_id, member_id=member.member_id, email_id=retired.email_id
    )
    assert unlinked.member.retired_email_addresses == []

    no_external = await members.delete_external_id_async(organization_id=org.organization_id, member_id="emp-1")
    assert no_external.member.external_id in (None, "")


async def test_b2b_sessions(b2b, inbox, project, server):
    email = new_email()
    first = await signed_up(b2b, inbox, email, "First")
    second = await signed_up(b2b, inbox, email, "Second")
    org_id = first.organization.organization_id

    by_token = await b2b.sessions.authenticate_async(session_token=first.session_token)
    assert by_token.member.member_id == first.member_id
    assert by_token.session_jwt
    by_jwt = await b2b.sessions.authenticate_async(session_jwt=first.session_jwt)
    assert by_jwt.member_session.member_session_id == first.member_session.member_session_id
    checked = await b2b.sessions.authenticate_jwt_async(session_jwt=first.session_jwt)
    assert checked.member_session.member_id == first.member_id
    local = await b2b.sessions.authenticate_jwt_local_async(session_jwt=first.session_jwt, leeway=leeway(server))
    assert local is not None
    assert local.member_session_id == first.member_session.member_session_id

    keys = await b2b.sessions.get_jwks_async(project_id=project.project_id)
    assert keys.keys and keys.keys[0].alg == "RS256"
    listed = await b2b.sessions.get_async(organization_id=org_id, member_id=first.member_id)
    assert [s.member_session_id for s in listed.member_sessions] == [first.member_session.member_session_id]

    switched = await b2b.sessions.exchange_async(organization_id=org_id, session_token=second.session_token)
    assert switched.member_authenticated is True
    assert switched.member_session.organization_id == org_id

    await b2b.sessions.revoke_async(session_token=first.session_token)
    revoked = await async_error_of(b2b.sessions.authenticate_async(session_token=first.session_token))
    assert revoked.error_type == "session_not_found"


async def test_b2b_rbac(b2b, inbox, project, server):
    set_policy(project, DOCUMENTS_POLICY)
    policy = (await b2b.rbac.policy_async()).policy
    assert {r.role_id for r in policy.roles} >= {"editor", "inviter", "stytch_admin", "stytch_member"}

    admin = await signed_up(b2b, inbox, new_email())
    org_id = admin.organization.organization_id
    assert (await b2b.rbac.organizations.get_org_policy_async(organization_id=org_id)).org_policy.roles == []
    role = {"role_id": "auditor", "description": "", "permissions": [{"resource_id": "invoices", "actions": ["read"]}]}
    set_to = await b2b.rbac.organizations.set_org_policy_async(organization_id=org_id, org_policy={"roles": [role]})
    assert [r.role_id for r in set_to.org_policy.roles] == ["auditor"]
    got = await b2b.rbac.organizations.get_org_policy_async(organization_id=org_id)
    assert [r.role_id for r in got.org_policy.roles] == ["auditor"]

    check = AuthorizationCheck(organization_id=org_id, resource_id="documents", action="delete")
    allowed = await b2b.sessions.authenticate_jwt_async(session_jwt=admin.session_jwt, authorization_check=check)
    assert allowed.member_session.member_id == admin.member_id
    local = await b2b.sessions.authenticate_jwt_local_async(
        session_jwt=admin.session_jwt, leeway=leeway(server), authorization_check=check
    )
    assert local is not None
    assert "stytch_admin" in local.roles


# --- consumer -----------------------------------------------------------------------------


async def test_b2b_totps(b2b, inbox):
    admin = await signed_up(b2b, inbox, new_email(), mfa_policy="REQUIRED_FOR_ALL")
    assert admin.member_authenticated is False and admin.mfa_required is not None
    org_id, member_id = admin.organization.organization_id, admin.member_id
    created = await b2b.totps.create_async(
        organization_id=org_id, member_id=member_id, intermediate_session_token=admin.intermediate_session_token
    )
    assert created.qr_code.startswith("data:image/png;base64,") and len(created.recovery_codes) == 10
    done = await b2b.totps.authenticate_async(
        organization_id=org_id,
        member_id=member_id,
        code=pyotp.TOTP(created.secret).now(),
        intermediate_session_token=admin.intermediate_session_token,
    )
    assert [f.type for f in done.member_session.authentication_factors] == ["magic_link", "totp"]
    deleted = await b2b.organizations.members.delete_totp_async(organization_id=org_id, member_id=member_id)
    assert deleted.member.totp_registration_id == ""
    migrated = await b2b.totps.migrate_async(
        organization_id=org_id, member_id=member_id, secret=pyotp.random_base32(32), recovery_codes=[]
    )
    assert migrated.member.totp_registration_id == migrated.totp_registration_id
    assert len(migrated.recovery_codes) == 10


async def test_b2b_recovery_codes(b2b, inbox):
    admin = await signed_up(b2b, inbox, new_email())
    org_id, member_id = admin.organization.organization_id, admin.member_id
    await b2b.totps.migrate_async(
        organization_id=org_id, member_id=member_id, secret=pyotp.random_base32(32), recovery_codes=[]
    )
    codes = (await b2b.recovery_codes.get_async(organization_id=org_id, member_id=member_id)).recovery_codes
    rotated = (await b2b.recovery_codes.rotate_async(organization_id=org_id, member_id=member_id)).recovery_codes
    assert len(rotated) == 10 and not set(rotated) & set(codes)
    recovered = await b2b.recovery_codes.recover_async(
        organization_id=org_id, member_id=member_id, recovery_code=rotated[0], session_token=admin.session_token
    )
    assert recovered.recovery_codes_remaining == 9
    assert recovered.member_session.authentication_factors[-1].type == "recovery_codes"


async def test_consumer_totps(consumer):
    user_id = (await consumer.users.create_async(email=new_email("totp"))).user_id
    created = await consumer.totps.create_async(user_id=user_id)
    assert created.qr_code.startswith("data:image/png;base64,") and len(created.recovery_codes) == 10
    done = await consumer.totps.authenticate_async(
        user_id=user_id, totp_code=pyotp.TOTP(created.secret).now(), session_duration_minutes=30
    )
    assert [f.type for f in done.session.authentication_factors] == ["totp"]
    listed = await consumer.totps.recovery_codes_async(user_id=user_id)
    assert listed.totps[0].recovery_codes == created.recovery_codes
    recovered = await consumer.totps.recover_async(
        user_id=user_id, recovery_code=created.recovery_codes[0], session_token=done.session_token
    )
    assert [f.type for f in recovered.session.authentication_factors] == ["totp", "recovery_codes"]
    deleted = await consumer.users.delete_totp_async(totp_id=created.totp_id)
    assert deleted.user.totps == []


async def test_b2b_sms_otps(b2b, inbox):
    admin = await signed_up(b2b, inbox, new_email(), mfa_policy="REQUIRED_FOR_ALL")
    org_id, member_id = admin.organization.organization_id, admin.member_id
    number = f"+1202555{random.randint(0, 9999):04d}"
    sent = await b2b.otps.sms.send_async(
        organization_id=org_id,
        member_id=member_id,
        mfa_phone_number=number,
        intermediate_session_token=admin.intermediate_session_token,
    )
    assert sent.member.mfa_phone_number == number
    text = inbox.messages(number)[0]["text"]
    code = re.search(r"\b(\d{6})\b", text).group(1)  # type: ignore[union-attr]
    done = await b2b.otps.sms.authenticate_async(
        organization_id=org_id,
        member_id=member_id,
        code=code,
        intermediate_session_token=admin.intermediate_session_token,
    )
    assert [f.delivery_method for f in done.member_session.authentication_factors] == ["email", "sms"]
    assert done.member.mfa_phone_number_verified is True
    deleted = await b2b.organizations.members.delete_mfa_phone_number_async(organization_id=org_id, member_id=member_id)
    assert deleted.member.mfa_phone_number == ""


async def test_b2b_email_otp(b2b, inbox):
    admin = await signed_up(b2b, inbox, new_email())
    org_id, email = admin.organization.organization_id, admin.member.email_address
    sent = await b2b.otps.email.login_or_signup_async(organization_id=org_id, email_address=email)
    assert sent.member_id == admin.member_id and sent.member_created is False
    code = re.search(r"\b(\d{6})\b", inbox.latest(email)["text"]).group(1)  # type: ignore[union-attr]
    done = await b2b.otps.email.authenticate_async(organization_id=org_id, email_address=email, code=code)
    assert done.member_authenticated is True and done.session_token
    assert [f.type for f in done.member_session.authentication_factors] == ["otp"]
    await b2b.otps.email.discovery.send_async(email_address=email)
    code = re.search(r"\b(\d{6})\b", inbox.latest(email)["text"]).group(1)  # type: ignore[union-attr]
    found = await b2b.otps.email.discovery.authenticate_async(email_address=email, code=code)
    assert [o.organization.organization_id for o in found.discovered_organizations] == [org_id]


async def test_consumer_otps(consumer, inbox):
    def code(to: str) -> str:
        return re.search(r"\b(\d{6})\b", inbox.latest(to)["text"]).group(1)  # type: ignore[union-attr]

    number = new_number()
    sms = await consumer.otps.sms.login_or_create_async(phone_number=number)
    first = await consumer.otps.authenticate_async(
        method_id=sms.phone_id, code=code(number), session_duration_minutes=30
    )
    assert first.session.authentication_factors[0].delivery_method == "sms"
    resent = await consumer.otps.sms.send_async(phone_number=number)
    assert resent.phone_id == sms.phone_id
    await consumer.otps.authenticate_async(method_id=sms.phone_id, code=code(number))
    whatsapp = await consumer.otps.whatsapp.login_or_create_async(phone_number=number)
    assert whatsapp.user_created is False
    await consumer.otps.whatsapp.send_async(phone_number=number)
    assert inbox.latest(number)["channel"] == "whatsapp"
    email = new_email("otp")
    by_email = await consumer.otps.email.send_async(email=email, user_id=sms.user_id)
    both = await consumer.otps.authenticate_async(
        method_id=by_email.email_id, code=code(email), session_token=first.session_token
    )
    assert len(both.session.authentication_factors) == 2
    again = await consumer.otps.email.login_or_create_async(email=email)
    assert (again.user_id, again.user_created) == (sms.user_id, False)
    deleted = await consumer.users.delete_phone_number_async(phone_id=sms.phone_id)
    assert deleted.user.phone_numbers == []


async def test_consumer_magic_links(consumer, inbox):
    email = new_email("user")
    created = await consumer.magic_links.email.login_or_create_async(email=email)
    assert created.user_created is True
    authed = await consumer.magic_links.authenticate_async(token=inbox.latest_token(email), session_duration_minutes=60)
    assert authed.user_id == created.user_id
    assert authed.session.authentication_factors[0].email_factor.email_address == email

    sent = await consumer.magic_links.email.send_async(email=email)
    assert sent.user_id == created.user_id
    again = await consumer.magic_links.authenticate_async(token=inbox.latest_token(email))
    assert again.user_id == created.user_id

    embedded = await consumer.magic_links.create_async(user_id=created.user_id)
    assert embedded.token
    used = await consumer.magic_links.authenticate_async(token=embedded.token, session_duration_minutes=30)
    assert used.session.authentication_factors[0].delivery_method.value == "embedded"

    invitee = new_email("invitee")
    invited = await consumer.magic_links.email.invite_async(email=invitee)
    assert invited.user_id
    token = inbox.latest_token(invitee)
    await consumer.magic_links.email.revoke_invite_async(email=invitee)
    refused = await async_error_of(consumer.magic_links.authenticate_async(token=token))
    assert refused.error_type == "unable_to_auth_magic_link"


async def test_consumer_users(consumer):
    email = new_email("user")
    external_id = new_external_id()
    created = await consumer.users.create_async(email=email, external_id=external_id, name={"first_name": "Ada"})
    assert created.user.emails[0].email == email
    got = await consumer.users.get_async(user_id=external_id)
    assert got.user_id == created.user_id

    updated = await consumer.users.update_async(user_id=created.user_id, trusted_metadata={"plan": "pro"})
    assert updated.user.trusted_metadata == {"plan": "pro"}
    found = await consumer.users.search_async(
        query={"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": [email]}]}
    )
    assert [u.user_id for u in found.results] == [created.user_id]

    no_email = await consumer.users.delete_email_async(email_id=created.email_id)
    assert no_email.user.emails == []
    no_external = await consumer.users.delete_external_id_async(user_id=created.user_id)
    assert no_external.user.external_id in (None, "")

    deleted = await consumer.users.delete_async(user_id=created.user_id)
    assert deleted.user_id == created.user_id
    gone = await async_error_of(consumer.users.get_async(user_id=created.user_id))
    assert gone.error_type == "user_not_found"


async def test_consumer_sessions(consumer, inbox, project, server):
    email = new_email("user")
    await consumer.magic_links.email.login_or_create_async(email=email)
    login = await consumer.magic_links.authenticate_async(token=inbox.latest_token(email), session_duration_minutes=60)

    by_token = await consumer.sessions.authenticate_async(session_token=login.session_token)
    assert by_token.session.session_id == login.session.session_id
    assert by_token.user.user_id == login.user_id
    by_jwt = await consumer.sessions.authenticate_async(session_jwt=login.session_jwt)
    assert by_jwt.session.session_id == login.session.session_id
    checked = await consumer.sessions.authenticate_jwt_async(session_jwt=login.session_jwt)
    assert checked.session.user_id == login.user_id
    local = await consumer.sessions.authenticate_jwt_local_async(session_jwt=login.session_jwt, leeway=leeway(server))
    assert local is not None
    assert local.session_id == login.session.session_id

    keys = await consumer.sessions.get_jwks_async(project_id=project.project_id)
    assert keys.keys and keys.keys[0].alg == "RS256"
    listed = await consumer.sessions.get_async(user_id=login.user_id)
    assert [s.session_id for s in listed.sessions] == [login.session.session_id]

    await consumer.sessions.revoke_async(session_token=login.session_token)
    revoked = await async_error_of(consumer.sessions.authenticate_async(session_token=login.session_token))
    assert revoked.error_type == "session_not_found"


async def test_b2b_impersonation(b2b, inbox, project):
    admin = await signed_up(b2b, inbox, new_email())
    org_id, member_id = admin.organization.organization_id, admin.member_id
    # `keystile impersonate` runs its own event loop: in a thread, not inside this test's.
    minted = await asyncio.to_thread(impersonate, project, "--organization", org_id, "--member", member_id)

    resp = await b2b.impersonation.authenticate_async(impersonation_token=minted["token"])
    assert resp.member_id == member_id
    assert [f.type for f in resp.member_session.authentication_factors] == ["impersonated"]
    again = await async_error_of(b2b.impersonation.authenticate_async(impersonation_token=minted["token"]))
    assert again.error_type == "unable_to_auth_impersonation_token"


async def test_consumer_impersonation(consumer, project):
    user = await consumer.users.create_async(email=new_email("user"))
    minted = await asyncio.to_thread(impersonate, project, "--user", user.user_id)

    resp = await consumer.impersonation.authenticate_async(impersonation_token=minted["token"])
    assert resp.user_id == user.user_id
    assert [f.type for f in resp.session.authentication_factors] == ["impersonated"]
    extended = await async_error_of(
        consumer.sessions.authenticate_async(session_token=resp.session_token, session_duration_minutes=90)
    )
    assert extended.error_type == "session_not_mutable_impersonated"


async def test_consumer_project(consumer, project):
    assert (await consumer.debug.whoami_async()).project_id == project.project_id
    metrics = await consumer.project.metrics_async()
    assert metrics.project_id == project.project_id
    assert {m.metric_type.value: m.count for m in metrics.metrics}["USER_COUNT"] == 0
    policy = (await consumer.rbac.policy_async()).policy
    assert [r.role_id for r in policy.roles] == ["stytch_user"]


async def test_consumer_passwords(consumer, inbox):
    # Passwords: every consumer endpoint once through the async client.
    strong, newer = "tangerine-Vortex-harbor-1987", "obsidian-Lantern-meadow-2041"
    found = await consumer.passwords.strength_check_async(password=strong)
    assert found.valid_password is True and found.strength_policy == "zxcvbn"
    email = new_email("pw")
    made = await consumer.passwords.create_async(email=email, password=strong, session_duration_minutes=60)
    assert made.user.password is not None
    done = await consumer.passwords.authenticate_async(email=email, password=strong, session_duration_minutes=10)
    assert done.user_id == made.user_id
    reset = await consumer.passwords.sessions.reset_async(password=newer, session_token=done.session_token)
    assert reset.session.session_id == done.session.session_id
    existing = await consumer.passwords.existing_password.reset_async(
        email=email, existing_password=newer, new_password=strong
    )
    assert existing.user_id == made.user_id
    await consumer.passwords.email.reset_start_async(email=email)
    token = link_params(inbox.latest_link(email))["token"]
    by_email = await consumer.passwords.email.reset_async(token=token, password=newer)
    assert by_email.user_id == made.user_id
    migrated = await consumer.passwords.migrate_async(
        email=new_email("pw"), hash=hashlib.md5(strong.encode()).hexdigest(), hash_type="md_5"
    )
    assert migrated.user_created is True
    deleted = await consumer.users.delete_password_async(password_id=migrated.user.password.password_id)
    assert deleted.user.password is None


async def test_b2b_passwords(b2b, inbox, project, server):
    # B2B passwords: every endpoint once through the async client.
    from tests.sdk.test_b2b_passwords import set_password_policy, strong

    org = (await signed_up(b2b, inbox, new_email("founder"))).organization
    oid, email, password = org.organization_id, new_email("pw"), strong()
    await b2b.organizations.members.create_async(organization_id=oid, email_address=email)
    started = await b2b.passwords.email.reset_start_async(organization_id=oid, email_address=email)
    assert started.member.email_address == email
    reset = await b2b.passwords.email.reset_async(password_reset_token=inbox.latest_token(email), password=password)
    assert reset.member_authenticated is True and reset.member.member_password_id
    authed = await b2b.passwords.authenticate_async(organization_id=oid, email_address=email, password=password)
    assert authed.session_token
    strength = await b2b.passwords.strength_check_async(password="password")
    assert strength.valid_password is False and strength.zxcvbn_feedback is not None
    password = strong()
    by_session = await b2b.passwords.sessions.reset_async(
        organization_id=oid, password=password, session_token=authed.session_token
    )
    assert by_session.member_id == authed.member_id
    new = strong()
    changed = await b2b.passwords.existing_password.reset_async(
        email_address=email, existing_password=password, new_password=new, organization_id=oid
    )
    assert changed.member_authenticated is True
    required = await b2b.passwords.email.require_reset_async(email_address=email, organization_id=oid)
    assert required.member_id == authed.member_id
    migrated = await b2b.passwords.migrate_async(
        email_address=new_email("migrated"),
        hash="$2b$04$" + "a" * 53,
        hash_type="bcrypt",
        organization_id=oid,
    )
    assert migrated.member_created is True
    deleted = await b2b.organizations.members.delete_password_async(
        organization_id=oid, member_password_id=migrated.member.member_password_id
    )
    assert deleted.member.member_password_id == ""
    set_password_policy(project, cross_org_passwords=True)
    await b2b.passwords.discovery.email.reset_start_async(email_address=email)
    shared = strong()
    found = await b2b.passwords.discovery.email.reset_async(
        password_reset_token=inbox.latest_token(email), password=shared
    )
    assert found.email_address == email
    again = await b2b.passwords.discovery.authenticate_async(email_address=email, password=shared)
    assert [d.organization.organization_id for d in again.discovered_organizations] == [oid]


async def test_b2b_sso(b2b, project, oidc_provider):
    """OIDC and external connections, their listing and deletion, and sso.authenticate after a
    login at a real OpenID provider (tests/sdk/test_sso_oidc.py drives the same plainly)."""
    org = await b2b.organizations.create_async(organization_name="SSO", organization_slug=new_slug())
    org_id = org.organization.organization_id
    created = (await b2b.sso.oidc.create_connection_async(organization_id=org_id, display_name="IdP")).connection
    assert created.status == "pending"
    client = oidc_provider.add_client(redirect_uris=[created.redirect_url])
    updated = await b2b.sso.oidc.update_connection_async(
        organization_id=org_id,
        connection_id=created.connection_id,
        issuer=oidc_provider.issuer,
        client_id=client.client_id,
        client_secret=client.client_secret,
    )
    assert updated.connection.status == "active"
    email = new_email()
    account = oidc_provider.add_account(email=email)
    _, token = await asyncio.to_thread(sso_token, project, oidc_provider, account, connection_id=created.connection_id)
    resp = await b2b.sso.authenticate_async(sso_token=token)
    assert resp.member.email_address == email and resp.member_authenticated is True

    other = await b2b.organizations.create_async(organization_name="Other", organization_slug=new_slug())
    other_id = other.organization.organization_id
    external = (
        await b2b.sso.external.create_connection_async(
            organization_id=other_id, external_organization_id=org_id, external_connection_id=created.connection_id
        )
    ).connection
    assert external.external_connection_id == created.connection_id and external.status == "active"
    renamed = await b2b.sso.external.update_connection_async(
        organization_id=other_id, connection_id=external.connection_id, display_name="Through SSO"
    )
    assert renamed.connection.display_name == "Through SSO"
    listed = await b2b.sso.get_connections_async(organization_id=org_id)
    assert [c.connection_id for c in listed.oidc_connections] == [created.connection_id]
    deleted = await b2b.sso.delete_connection_async(organization_id=org_id, connection_id=created.connection_id)
    assert deleted.connection_id == created.connection_id
    assert (await b2b.sso.get_connections_async(organization_id=other_id)).external_connections == []


# --- sessions.migrate ----------------------------------------------------------------------


async def test_b2b_sessions_migrate(b2b, inbox, project, oidc_provider):
    from tests.sdk.test_session_migration import CALLBACK, access_token, configure

    await asyncio.to_thread(configure, project, oidc_provider)
    admin = await signed_up(b2b, inbox, new_email())
    email = new_email("migrated")
    member = await b2b.organizations.members.create_async(
        organization_id=admin.organization.organization_id, email_address=email
    )
    client = oidc_provider.add_client(redirect_uris=[CALLBACK])
    token = await asyncio.to_thread(access_token, oidc_provider, client, oidc_provider.add_account(email=email))

    resp = await b2b.sessions.migrate_async(session_token=token, organization_id=admin.organization.organization_id)
    assert resp.member_id == member.member_id
    assert [f.type for f in resp.member_session.authentication_factors] == ["imported"]


async def test_consumer_sessions_migrate(consumer, project, oidc_provider):
    from tests.sdk.test_session_migration import CALLBACK, access_token, configure

    await asyncio.to_thread(configure, project, oidc_provider)
    email = new_email("migrated")
    user = await consumer.users.create_async(email=email)
    client = oidc_provider.add_client(redirect_uris=[CALLBACK])
    token = await asyncio.to_thread(access_token, oidc_provider, client, oidc_provider.add_account(email=email))

    resp = await consumer.sessions.migrate_async(session_token=token, session_duration_minutes=30)
    assert resp.user_id == user.user_id
    assert [f.type for f in resp.session.authentication_factors] == ["imported"]


async def test_b2b_sso_oidc_tokens(b2b, project, oidc_provider):
    from tests.sdk.test_sso_oidc import oidc_connection

    created = await b2b.organizations.create_async(organization_name="Acme")
    org_id = created.organization.organization_id
    connection = await asyncio.to_thread(oidc_connection, stytch_b2b(project), oidc_provider, org_id)
    account = oidc_provider.add_account(email=new_email())
    _, token = await asyncio.to_thread(
        sso_token, project, oidc_provider, account, connection_id=connection.connection_id
    )
    member_id = (await b2b.sso.authenticate_async(sso_token=token)).member_id
    held = await b2b.organizations.members.oidc_providers_async(organization_id=org_id, member_id=member_id)
    assert [(r.connection_id, r.provider_subject) for r in held.registrations] == [
        (connection.connection_id, account.sub)
    ]
    assert held.registrations[0].access_token and held.registrations[0].id_token


def stytch_b2b(project: Any) -> Any:
    """A plain (sync) client, for helpers of other test modules that drive one."""
    return stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)


async def test_b2b_sso_saml(b2b, inbox, tmp_path):
    """SAML connections: created, configured by hand and by metadata URL, a verification
    certificate and an encryption key deleted (tests/sdk/test_sso_saml.py logs in through them)."""
    from datetime import UTC, datetime

    from keystile.sso.saml import protocol
    from tests.saml_idp import SAMLIdP, serve_metadata

    idp = SAMLIdP(tmp_path / "idp")
    org = (await signed_up(b2b, inbox, new_email())).organization
    org_id = org.organization_id
    conn = (await b2b.sso.saml.create_connection_async(organization_id=org_id, display_name="Acme SAML")).connection
    assert conn.status == "pending" and len(conn.signing_certificates) == 1
    key_pem, _ = protocol.new_key_pair("acme", datetime.now(UTC))
    updated = (
        await b2b.sso.saml.update_connection_async(
            organization_id=org_id,
            connection_id=conn.connection_id,
            idp_entity_id=idp.entity_id,
            idp_sso_url=idp.sso_url,
            x509_certificate=idp.other_certificate,
            saml_encryption_private_key=key_pem,
        )
    ).connection
    assert updated.status == "active"
    with serve_metadata(idp.metadata()) as url:
        by_url = (
            await b2b.sso.saml.update_by_url_async(
                organization_id=org_id, connection_id=conn.connection_id, metadata_url=url
            )
        ).connection
    assert len(by_url.verification_certificates) == 2
    old = by_url.verification_certificates[0].certificate_id
    deleted = await b2b.sso.saml.delete_verification_certificate_async(
        organization_id=org_id, connection_id=conn.connection_id, certificate_id=old
    )
    assert deleted.certificate_id == old
    key_id = by_url.encryption_private_keys[0].private_key_id
    dropped = await b2b.sso.saml.delete_encryption_private_key_async(
        organization_id=org_id, connection_id=conn.connection_id, private_key_id=key_id
    )
    assert dropped.private_key_id == key_id


# --- consumer OAuth (tests/sdk/test_oauth_consumer.py) ---


async def test_consumer_oauth(consumer, project, oidc_provider):
    from tests.sdk.test_oauth_consumer import google, log_in, start_url, token_of

    await asyncio.to_thread(google, project, oidc_provider)
    account = oidc_provider.add_account(email=new_email("oauth"), name="Ada Lovelace")
    landed = await asyncio.to_thread(log_in, oidc_provider, start_url(project), account)
    done = await consumer.oauth.authenticate_async(token=token_of(landed), session_duration_minutes=30)
    assert done.provider_subject == account.sub and done.user.providers[0].provider_type == "Google"
    assert done.user_session.authentication_factors[0].google_oauth_factor.id == done.oauth_user_registration_id
    attached = await consumer.oauth.attach_async(provider="github", session_token=done.session_token)
    assert attached.oauth_attach_token
    again = await async_error_of(consumer.oauth.authenticate_async(token=token_of(landed)))
    assert again.error_type == "oauth_token_not_found"
    deleted = await consumer.users.delete_oauth_registration_async(
        oauth_user_registration_id=done.oauth_user_registration_id
    )
    assert deleted.user_id == done.user_id and deleted.user.providers == []


async def test_b2b_scim(b2b, project):
    set_policy(project, DOCUMENTS_POLICY)
    org = (await b2b.organizations.create_async(organization_name="Acme", organization_slug=new_slug())).organization
    org_id = org.organization_id
    created = (await b2b.scim.connection.create_async(organization_id=org_id, identity_provider="okta")).connection
    ids = {"organization_id": org_id, "connection_id": created.connection_id}
    assert (await b2b.scim.connection.get_async(organization_id=org_id)).connection.connection_id == ids[
        "connection_id"
    ]
    scim = ScimClient(created.base_url, created.bearer_token)
    user = await asyncio.to_thread(scim.ok, "POST", "/Users", okta_user(scim_email()), 201)
    group = await asyncio.to_thread(
        scim.ok, "POST", "/Groups", {"displayName": "Eds", "members": [{"value": user["id"]}]}, 201
    )

    updated = await b2b.scim.connection.update_async(
        **ids,
        display_name="Okta",
        scim_group_implicit_role_assignments=[{"role_id": "editor", "group_id": group["id"]}],
    )
    assert updated.connection.scim_group_implicit_role_assignments[0].group_name == "Eds"
    groups = await b2b.scim.connection.get_groups_async(**ids, limit=10)
    assert [g.group_id for g in groups.scim_groups] == [group["id"]]
    started = (await b2b.scim.connection.rotate_start_async(**ids)).connection
    assert started.next_bearer_token
    assert (await b2b.scim.connection.rotate_cancel_async(**ids)).connection.next_bearer_token_last_four == ""
    await b2b.scim.connection.rotate_start_async(**ids)
    completed = (await b2b.scim.connection.rotate_complete_async(**ids)).connection
    assert completed.bearer_token_last_four != created.bearer_token[-4:]
    assert (await b2b.scim.connection.delete_async(**ids)).connection_id == ids["connection_id"]


# --- B2B OAuth -----------------------------------------------------------------------------


async def test_b2b_oauth(b2b, project, oidc_provider):
    from tests.sdk.test_oauth_b2b import configure, log_in, start_url, token_of

    configure(project, "google", oidc_provider)
    created = await b2b.organizations.create_async(
        organization_name="Acme", email_allowed_domains=["acme.test"], email_jit_provisioning="RESTRICTED"
    )
    org_id = created.organization.organization_id
    account = oidc_provider.add_account(email=new_email())
    url = start_url(project, organization_id=org_id, custom_scopes="offline_access", provider_prompt="consent")
    landed = await asyncio.to_thread(log_in, oidc_provider, url, account)
    done = await b2b.oauth.authenticate_async(oauth_token=token_of(landed), session_duration_minutes=30)
    assert done.member_authenticated is True and done.provider_type == "Google"
    assert done.provider_values.refresh_token and done.member.oauth_registrations[0].provider_subject == account.sub
    providers = b2b.organizations.members.oauth_providers
    # (The SDK's async client cannot send include_refresh_token: aiohttp refuses a boolean query value.)
    google = await providers.google_async(organization_id=org_id, member_id=done.member_id)
    assert google.access_token == done.provider_values.access_token and not google.refresh_token
    missing = await async_error_of(providers.microsoft_async(organization_id=org_id, member_id=done.member_id))
    assert missing.status_code == 404
    for listed in (providers.slack_async, providers.hubspot_async, providers.github_async):
        assert (await listed(organization_id=org_id, member_id=done.member_id)).registrations == []

    landed = await asyncio.to_thread(log_in, oidc_provider, start_url(project, discovery=True), account)
    found = await b2b.oauth.discovery.authenticate_async(discovery_oauth_token=token_of(landed, "discovery_oauth"))
    assert found.email_address == account.claims["email"] and found.provider_type == "Google"
    assert [o.organization.organization_id for o in found.discovered_organizations] == [org_id]


# --- coverage: keep these two last --------------------------------------------------------

CHECKS = [name for name in dir() if name.startswith(("test_b2b_", "test_consumer_"))]


def _all_checks_ran(request: pytest.FixtureRequest, seen: Seen) -> None:
    """Coverage means something only after every check of this backend ran and passed."""
    missing = sorted(set(CHECKS) - seen.finished)
    selected = {
        item.originalname
        for item in request.session.items
        if item.module is request.module
        and item.callspec.params.get("backend") == request.node.callspec.params["backend"]
    }
    if not set(CHECKS) <= selected:
        pytest.skip("only part of this module was selected; the coverage tests need every check")
    assert not missing, f"these async checks did not pass, so coverage is unknown: {missing}"


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


# Pages a person's browser opens under /v1/, which no SDK calls (tests/http/test_email_link_redirect.py).
BROWSER_PAGES = {
    ("GET", "/v1/magic_links/redirect"),
    ("POST", "/v1/magic_links/redirect"),
    # SSO: the start of a login and a connection's callback (tests/sdk/test_sso_oidc.py).
    ("GET", "/v1/public/sso/start"),
    ("GET", "/v1/b2b/sso/callback/{connection_id}"),
    ("POST", "/v1/b2b/sso/callback/{connection_id}"),
    # A SAML connection's SP metadata, which an IdP imports (tests/sdk/test_sso_saml.py).
    ("GET", "/v1/b2b/sso/saml/metadata/{connection_id}"),
    # OAuth (tests/sdk/test_oauth_consumer.py): the start a browser opens, the provider's callback.
    ("GET", "/v1/public/oauth/{provider}/start"),
    ("GET", "/v1/oauth/callback/{public_token}"),
    ("POST", "/v1/oauth/callback/{public_token}"),
    # B2B OAuth's start routes (tests/sdk/test_oauth_b2b.py).
    ("GET", "/v1/b2b/public/oauth/{provider}/start"),
    ("GET", "/v1/b2b/public/oauth/{provider}/discovery/start"),
}


def test_every_served_endpoint_was_reached_through_the_async_client(server, seen, request):
    _all_checks_ran(request, seen)
    served = [endpoint for endpoint in served_endpoints(server.app, prefix="/v1/") if endpoint not in BROWSER_PAGES]
    unreached = [
        f"{method} {path}"
        for method, path in served
        if not any(m == method and _template(path).match(p) for m, p in seen.requests)
    ]
    assert not unreached, f"no async check in {Path(__file__).name} reaches: {unreached}"


SDK_CALL = re.compile(r"\b(b2b|consumer|other_consumer)\.((?:[a-z_]+\.)*[a-z_]+)\(")


def sdk_methods_the_suite_uses() -> set[str]:
    """`b2b …` and `consumer …` SDK method names called anywhere in the tests (the SDK
    clients are always named `b2b`, `consumer` or `other_consumer` there)."""
    used = set()
    for source in Path(__file__).resolve().parents[1].rglob("*.py"):
        if source.resolve() == Path(__file__).resolve():
            continue
        for client, method in SDK_CALL.findall(source.read_text()):
            used.add(f"{'b2b' if client == 'b2b' else 'consumer'} {method}")
    return used


def test_every_sdk_method_the_suite_uses_has_an_async_check(server, seen, request):
    _all_checks_ran(request, seen)
    unchecked = sorted(sdk_methods_the_suite_uses() - seen.methods)
    assert not unchecked, f"no `_async` call in {Path(__file__).name} for: {unchecked}"
