"""Consumer sessions through the official SDK (stytch.Client), on SQLite
and PostgreSQL: sessions.authenticate (token or JWT), get, revoke, local JWT checks, and
the wall between consumer and B2B sessions, and the User each authenticate answers with."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pyotp
import stytch

from keystile.core import crypto
from keystile.core.db import Database
from keystile.sessions.repository import USER_SESSION
from keystile.users.repository import PHONES_OF_USER, TOTPS_OF_USER
from tests.flows import consumer_login, error_of, jwt_of, jwt_parts, new_email
from tests.sdk.test_consumer_otps import latest_code, new_number


def leeway(server: Any) -> int:
    """The test server's clock may run ahead of the wall clock the SDK verifies JWTs with."""
    return int(server.clock.offset.total_seconds()) + 5


class TestAuthenticate:
    def test_by_session_token(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate(session_token=login.session_token)
        assert resp.session.session_id == login.session.session_id
        assert resp.session_token == login.session_token
        assert resp.user.user_id == login.user_id
        assert resp.session_jwt

    def test_a_user_with_two_emails_gets_both_in_the_order_they_were_added(self, consumer, inbox, server):
        first = new_email("first")
        login = consumer_login(consumer, inbox, email=first)
        server.clock.advance(seconds=1)  # the second is added later on the server's clock
        second = new_email("second")
        consumer.magic_links.email.send(email=second, user_id=login.user_id)
        consumer.magic_links.authenticate(token=inbox.latest_token(second))

        by_token = consumer.sessions.authenticate(session_token=login.session_token)
        by_jwt = consumer.sessions.authenticate(session_jwt=login.session_jwt)
        stored = consumer.users.get(user_id=login.user_id)

        assert [e.email for e in by_token.user.emails] == [first, second]
        assert [e.email for e in by_jwt.user.emails] == [first, second]
        assert [(e.email_id, e.verified) for e in by_token.user.emails] == [
            (e.email_id, e.verified) for e in stored.emails
        ]

    def test_by_session_jwt(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate(session_jwt=login.session_jwt)
        assert resp.session.session_id == login.session.session_id
        assert resp.user.user_id == login.user_id

    def test_a_jwt_with_a_changed_claim_is_refused_and_the_genuine_one_still_works(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.authenticate(session_jwt=login.session_jwt)  # checked once, remembered
        header, claims, signature = jwt_parts(login.session_jwt)
        claims["sub"] = "user-test-00000000-0000-4000-8000-000000000000"
        forged = jwt_of(header, claims, signature)
        error = error_of(lambda: consumer.sessions.authenticate(session_jwt=forged))
        assert error.error_type == "jwt_invalid_claims"
        assert consumer.sessions.authenticate(session_jwt=login.session_jwt).user.user_id == login.user_id

    def test_returned_jwt_verifies_locally(self, consumer, inbox, server):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate(session_token=login.session_token)
        local = consumer.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt, leeway=leeway(server))
        assert local is not None
        assert local.session_id == login.session.session_id
        assert local.user_id == login.user_id
        assert local.authentication_factors[0].email_factor.email_id == login.method_id

    def test_authenticate_jwt_returns_the_session(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate_jwt(session_jwt=login.session_jwt)
        assert resp.session.session_id == login.session.session_id

    def test_duration_extends_the_session(self, consumer, inbox):
        login = consumer_login(consumer, inbox, minutes=30)
        resp = consumer.sessions.authenticate(session_token=login.session_token, session_duration_minutes=600)
        assert resp.session.expires_at > login.session.expires_at

    def test_without_duration_the_expiry_is_unchanged(self, consumer, inbox):
        login = consumer_login(consumer, inbox, minutes=30)
        resp = consumer.sessions.authenticate(session_token=login.session_token)
        assert resp.session.expires_at == login.session.expires_at

    def test_custom_claims_reach_the_jwt(self, consumer, inbox, server):
        login = consumer_login(consumer, inbox)
        resp = consumer.sessions.authenticate(session_token=login.session_token, session_custom_claims={"tier": "gold"})
        assert resp.session.custom_claims == {"tier": "gold"}
        local = consumer.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt, leeway=leeway(server))
        assert local.custom_claims["tier"] == "gold"

    def test_expired_session_is_session_not_found(self, consumer, inbox, server):
        login = consumer_login(consumer, inbox, minutes=5)
        server.clock.advance(minutes=6)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=login.session_token))
        assert details.error_type == "session_not_found"

    def test_unknown_token_is_session_not_found(self, consumer):
        details = error_of(lambda: consumer.sessions.authenticate(session_token="not-a-session-token"))
        assert details.status_code == 404
        assert details.error_type == "session_not_found"

    def test_token_and_jwt_together_are_rejected(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        details = error_of(
            lambda: consumer.sessions.authenticate(session_token=login.session_token, session_jwt=login.session_jwt)
        )
        assert details.error_type == "too_many_session_arguments"

    def test_bad_duration_is_rejected(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        details = error_of(
            lambda: consumer.sessions.authenticate(session_token=login.session_token, session_duration_minutes=527041)
        )
        assert details.error_type == "invalid_session_duration_minutes"


def phones_of(user: Any) -> list[tuple[str, str, bool]]:
    return [(p.phone_id, p.phone_number, p.verified) for p in user.phone_numbers]


def totps_of(user: Any) -> list[tuple[str, bool]]:
    return [(t.totp_id, t.verified) for t in user.totps]


def sms_login(consumer: Any, inbox: Any) -> tuple[Any, str]:
    """A new user by otps.sms.login_or_create, its code authenticated with a session; (response, number)."""
    number = new_number()
    sent = consumer.otps.sms.login_or_create(phone_number=number)
    done = consumer.otps.authenticate(
        method_id=sent.phone_id, code=latest_code(inbox, number), session_duration_minutes=60
    )
    return done, number


class TestTheUsersPhoneNumbersAndTOTPs:
    """sessions.authenticate lists a User's phone numbers and TOTPs as users.get does; the
    session lookup only says whether there are any, and a second read fetches them."""

    def test_a_user_with_a_phone_and_a_totp_sees_both_by_token_and_by_jwt(self, consumer, inbox):
        login, number = sms_login(consumer, inbox)
        created = consumer.totps.create(user_id=login.user_id)
        consumer.totps.authenticate(user_id=login.user_id, totp_code=pyotp.TOTP(created.secret).now())

        by_token = consumer.sessions.authenticate(session_token=login.session_token)
        by_jwt = consumer.sessions.authenticate(session_jwt=by_token.session_jwt)
        stored = consumer.users.get(user_id=login.user_id)

        assert phones_of(by_token.user) == [(login.method_id, number, True)]
        assert totps_of(by_token.user) == [(created.totp_id, True)]
        for user in (by_jwt.user, stored):
            assert (phones_of(user), totps_of(user)) == (phones_of(by_token.user), totps_of(by_token.user))
        assert [e.email for e in by_token.user.emails] == [e.email for e in stored.emails] == []

    def test_a_user_with_neither_gets_empty_lists(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        for resp in (
            consumer.sessions.authenticate(session_token=login.session_token),
            consumer.sessions.authenticate(session_jwt=login.session_jwt),
        ):
            assert resp.user.user_id == login.user_id
            assert resp.user.phone_numbers == [] and resp.user.totps == []
            assert len(resp.user.emails) == 1

    def test_phones_and_totps_added_to_a_session_user_appear_at_its_next_authenticate(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        number = new_number()
        sent = consumer.otps.sms.send(phone_number=number, user_id=login.user_id)
        with_phone = consumer.sessions.authenticate(session_token=login.session_token)
        assert phones_of(with_phone.user) == [(sent.phone_id, number, False)]
        assert with_phone.user.totps == []

        created = consumer.totps.create(user_id=login.user_id)
        pending = consumer.sessions.authenticate(session_jwt=with_phone.session_jwt)
        assert totps_of(pending.user) == [(created.totp_id, False)]
        assert phones_of(pending.user) == [(sent.phone_id, number, False)]
        assert len(pending.user.emails) == 1

    def test_an_expired_pending_totp_is_listed_by_neither(self, consumer, inbox, server):
        login, _ = sms_login(consumer, inbox)
        consumer.totps.create(user_id=login.user_id, expiration_minutes=5)
        server.clock.advance(seconds=6 * 60)
        resp = consumer.sessions.authenticate(session_token=login.session_token)
        assert resp.user.totps == [] == consumer.users.get(user_id=login.user_id).totps
        assert len(resp.user.phone_numbers) == 1

    def test_concurrent_authenticates_each_get_their_own_users_lists(self, project, consumer, inbox):
        # On PostgreSQL, lookups started together share one statement (ADR 0008): the session
        # lookup's and the phone and TOTP reads' batches must still give each caller its own.
        users: list[tuple[Any, list[tuple[str, str, bool]], list[tuple[str, bool]]]] = []
        for i in range(8):
            if i % 2:
                login = consumer_login(consumer, inbox)
                users.append((login, [], []))
                continue
            login, number = sms_login(consumer, inbox)
            totps = []
            if i % 4 == 0:
                created = consumer.totps.create(user_id=login.user_id)
                totps = [(created.totp_id, False)]
            users.append((login, [(login.method_id, number, True)], totps))

        def authenticate(job: tuple[int, bool]) -> Any:
            index, by_jwt = job
            client = stytch.Client(project.project_id, project.secret, environment=project.server.base_url)
            login = users[index][0]
            if by_jwt:
                return client.sessions.authenticate(session_jwt=login.session_jwt)
            return client.sessions.authenticate(session_token=login.session_token)

        jobs = [(i, by_jwt) for _ in range(3) for i in range(len(users)) for by_jwt in (False, True)]
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(authenticate, jobs))
        for (index, _), resp in zip(jobs, results, strict=True):
            login, phones, totps = users[index]
            assert resp.user.user_id == login.user_id
            assert (phones_of(resp.user), totps_of(resp.user)) == (phones, totps)

    def test_on_postgresql_lookups_started_together_share_statements_and_keep_each_users_rows(
        self, backend, server, project, consumer, inbox
    ):
        """The server's own read path, called together for several users: one statement per
        Lookup (`key = ANY(...)`), each user's flags and rows as a lone lookup finds them."""
        if backend != "postgres":
            return  # SQLite runs every lookup alone: the other tests cover it
        with_both, _ = sms_login(consumer, inbox)
        consumer.totps.create(user_id=with_both.user_id)
        with_phone, _ = sms_login(consumer, inbox)
        with_none = consumer_login(consumer, inbox)
        logins = [with_both, with_phone, with_none]
        where = {"project_id": project.project_id, "kind": "consumer", "now": datetime.now(UTC)}

        async def read() -> tuple[list[Any], list[Any], list[Any], list[Any], list[str]]:
            db = Database(server.settings.database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
            try:
                token = USER_SESSION["token"]
                alone = [await db.lookup(token, crypto.hash_token(x.session_token), **where) for x in logins]
                sent: list[str] = []
                fetch = db._reader.fetch

                async def counted(compiled: Any, params: list[Any]) -> list[Any]:
                    sent.append(compiled.sql)
                    return await fetch(compiled, params)

                db._reader.fetch = counted
                together = await asyncio.gather(
                    *(db.lookup(token, crypto.hash_token(x.session_token), **where) for x in logins)
                )
                ids = [x.user_id for x in logins]
                phones = await asyncio.gather(
                    *(db.lookup(PHONES_OF_USER, i, project_id=project.project_id) for i in ids)
                )
                totps = await asyncio.gather(
                    *(db.lookup(TOTPS_OF_USER, i, project_id=project.project_id, now=where["now"]) for i in ids)
                )
                return alone, together, phones, totps, sent
            finally:
                await db.dispose()

        alone, together, phones, totps, sent = asyncio.run(read())
        assert len(sent) == 3 and all("ANY" in sql for sql in sent)
        assert together == alone
        flags = [(rows[0][2].has_phone_numbers, rows[0][2].has_totps) for rows in together]
        assert flags == [(True, True), (True, False), (False, False)]
        assert [[p.phone_id for p in rows] for rows in phones] == [[with_both.method_id], [with_phone.method_id], []]
        assert [len(rows) for rows in totps] == [1, 0, 0]


class TestRevoke:
    def test_revoked_session_is_session_not_found(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.revoke(session_token=login.session_token)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=login.session_token))
        assert details.status_code == 404
        assert details.error_type == "session_not_found"

    def test_by_session_id(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.revoke(session_id=login.session.session_id)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=login.session_token))
        assert details.error_type == "session_not_found"

    def test_by_session_jwt(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.revoke(session_jwt=login.session_jwt)
        details = error_of(lambda: consumer.sessions.authenticate(session_jwt=login.session_jwt))
        assert details.error_type == "session_not_found"

    def test_two_selectors_are_rejected(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        details = error_of(
            lambda: consumer.sessions.revoke(session_id=login.session.session_id, session_token=login.session_token)
        )
        assert details.error_type == "too_many_session_revoke_arguments"

    def test_no_selector_is_rejected(self, consumer):
        assert error_of(lambda: consumer.sessions.revoke()).error_type == "no_session_revoke_arguments"


class TestGet:
    def test_lists_the_users_live_sessions(self, consumer, inbox):
        email = new_email()
        first = consumer_login(consumer, inbox, email=email)
        second = consumer_login(consumer, inbox, email=email)
        resp = consumer.sessions.get(user_id=first.user_id)
        assert {s.session_id for s in resp.sessions} == {first.session.session_id, second.session.session_id}

    def test_revoked_sessions_are_not_listed(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        consumer.sessions.revoke(session_token=login.session_token)
        assert consumer.sessions.get(user_id=login.user_id).sessions == []

    def test_accepts_the_external_id(self, consumer, inbox):
        login = consumer_login(consumer, inbox)
        external_id = f"ext-{uuid.uuid4().hex[:8]}"
        consumer.users.update(user_id=login.user_id, external_id=external_id)
        assert [s.session_id for s in consumer.sessions.get(user_id=external_id).sessions] == [login.session.session_id]

    def test_unknown_user_is_user_not_found(self, consumer):
        assert error_of(lambda: consumer.sessions.get(user_id="user-test-nope")).error_type == "user_not_found"


class TestJWKS:
    def test_get_jwks_lists_the_signing_key(self, consumer, project):
        keys = consumer.sessions.get_jwks(project_id=project.project_id).keys
        assert keys and keys[0].alg == "RS256"


def _b2b_session_token(project: Any, inbox: Any) -> str:
    """A member session of the same project, made by the B2B discovery flow."""
    b2b = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
    email = new_email("member")
    b2b.magic_links.email.discovery.send(email_address=email)
    ist = b2b.magic_links.discovery.authenticate(
        discovery_magic_links_token=inbox.latest_token(email)
    ).intermediate_session_token
    created = b2b.discovery.organizations.create(
        intermediate_session_token=ist,
        organization_name=f"Acme {uuid.uuid4().hex[:6]}",
        session_duration_minutes=60,
    )
    return created.session_token


class TestKinds:
    def test_a_b2b_session_token_is_not_a_consumer_session(self, consumer, inbox, project):
        token = _b2b_session_token(project, inbox)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=token))
        assert details.error_type == "session_not_found"

    def test_a_consumer_session_token_is_not_a_b2b_session(self, consumer, inbox, project):
        login = consumer_login(consumer, inbox)
        b2b = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
        details = error_of(lambda: b2b.sessions.authenticate(session_token=login.session_token))
        assert details.error_type == "session_not_found"

    def test_a_b2b_session_cannot_be_revoked_here(self, consumer, inbox, project):
        token = _b2b_session_token(project, inbox)
        details = error_of(lambda: consumer.sessions.revoke(session_token=token))
        assert details.error_type == "session_not_found"


class TestIsolation:
    def test_another_projects_secret_cannot_authenticate_the_session(self, consumer, inbox, other_project):
        login = consumer_login(consumer, inbox)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        details = error_of(lambda: other.sessions.authenticate(session_token=login.session_token))
        assert details.error_type == "session_not_found"

    def test_another_projects_secret_cannot_use_the_jwt(self, consumer, inbox, other_project):
        login = consumer_login(consumer, inbox)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        details = error_of(lambda: other.sessions.authenticate(session_jwt=login.session_jwt))
        assert details.status_code == 401

    def test_another_projects_secret_cannot_revoke_the_session(self, consumer, inbox, other_project):
        login = consumer_login(consumer, inbox)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        error_of(lambda: other.sessions.revoke(session_id=login.session.session_id))
        assert consumer.sessions.authenticate(session_token=login.session_token).session

    def test_another_projects_sdk_does_not_verify_the_jwt_locally(self, consumer, inbox, other_project, server):
        login = consumer_login(consumer, inbox)
        other = stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
        try:
            verified = other.sessions.authenticate_jwt_local(session_jwt=login.session_jwt, leeway=leeway(server))
        except Exception:  # PyJWKClient finds no key with this kid in the other project's JWKS
            verified = None
        assert verified is None
