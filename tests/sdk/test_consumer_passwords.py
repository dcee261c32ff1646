"""Consumer passwords through the official SDK: create, authenticate, migrate (every hash type,
made here by bcrypt, passlib and hashlib), the three resets (the email one end to end through
the dev inbox and keystile's redirect page), users.delete_password, User.password, breached
passwords at login, the lockout, and one reset token spent by 20 requests at once."""

from __future__ import annotations

import base64
import hashlib
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import argon2
import bcrypt
import pytest
import requests
import stytch
from passlib.hash import phpass
from passlib.hash import scrypt as passlib_scrypt

from keystile.passwords import repository
from tests.flows import consumer_login, error_of, new_email
from tests.support import (
    Inbox,
    ProjectInfo,
    Server,
    link_params,
    make_project,
    own_server,
)

PASSWORD = "tangerine-Vortex-harbor-1987"
NEW_PASSWORD = "obsidian-Lantern-meadow-2041"


@contextmanager
def client_of(project: ProjectInfo) -> Iterator[Any]:
    """stytch.Client for a project other than the `consumer` fixture's."""
    with requests.Session() as session:
        yield stytch.Client(
            project.project_id, project.secret, environment=project.server.base_url, sync_session=session
        )


def advance(project: ProjectInfo, seconds: int) -> None:
    resp = requests.post(
        f"{project.server.base_url}dev/clock/advance", json={"seconds": seconds}, auth=project.auth, timeout=10
    )
    assert resp.status_code == 200, resp.text


def stored(project: ProjectInfo, user_id: str) -> Any:
    async def read() -> Any:
        async with project.server.state.transaction() as conn:
            return await repository.find(conn, project.project_id, repository.user(user_id))

    return project.server.run(read())


def reset_token(consumer: Any, inbox: Inbox, email: str, **kwargs: Any) -> str:
    consumer.passwords.email.reset_start(email=email, **kwargs)
    link = inbox.latest_link(email)
    params = link_params(link)
    assert params["stytch_token_type"] == "reset_password"
    return params["token"]


# --- create and authenticate ---


def test_create_makes_a_user_with_a_password_and_a_session(consumer):
    email = new_email()
    made = consumer.passwords.create(
        email=email, password=PASSWORD, session_duration_minutes=60, name={"first_name": "Ada"}
    )
    assert made.user_id.startswith("user-test-") and made.email_id.startswith("email-test-")
    assert made.user.password is not None and made.user.password.password_id.startswith("password-test-")
    assert made.user.password.requires_reset is False
    assert made.user.name.first_name == "Ada"
    assert [f.type for f in made.session.authentication_factors] == ["password"]
    assert made.session.authentication_factors[0].delivery_method == "knowledge"
    assert consumer.sessions.authenticate(session_token=made.session_token).user.password.password_id == (
        made.user.password.password_id
    )
    assert consumer.users.get(user_id=made.user_id).password.password_id == made.user.password.password_id
    found = consumer.users.search(
        query={"operator": "AND", "operands": [{"filter_name": "password_exists", "filter_value": True}]}
    )
    assert made.user_id in [u.user_id for u in found.results]


def test_create_without_a_session_answers_no_session(consumer):
    made = consumer.passwords.create(email=new_email(), password=PASSWORD)
    assert made.session is None and made.session_token == "" and made.session_jwt == ""


def test_create_refuses_a_weak_or_breached_password_and_a_taken_email(consumer):
    assert (
        error_of(lambda: consumer.passwords.create(email=new_email(), password="qwertyuiop")).error_type
        == "weak_password"
    )
    assert (
        error_of(lambda: consumer.passwords.create(email=new_email(), password="Password1")).error_type
        == "weak_password"
    )
    email = new_email()
    consumer.users.create(email=email)
    assert error_of(lambda: consumer.passwords.create(email=email, password=PASSWORD)).error_type == "duplicate_email"


def test_authenticate_logs_in_and_extends_a_session(consumer):
    email = new_email()
    consumer.passwords.create(email=email, password=PASSWORD)
    done = consumer.passwords.authenticate(email=email.upper(), password=PASSWORD, session_duration_minutes=30)
    assert done.session and done.session_jwt
    again = consumer.passwords.authenticate(email=email, password=PASSWORD, session_token=done.session_token)
    assert again.session.session_id == done.session.session_id


def test_a_wrong_password_and_an_unknown_email_answer_the_same(consumer):
    email = new_email()
    consumer.passwords.create(email=email, password=PASSWORD)
    wrong = error_of(lambda: consumer.passwords.authenticate(email=email, password=PASSWORD + "x"))
    unknown = error_of(lambda: consumer.passwords.authenticate(email=new_email(), password=PASSWORD))
    without = new_email()
    consumer.users.create(email=without)
    no_password = error_of(lambda: consumer.passwords.authenticate(email=without, password=PASSWORD))
    for caught in (wrong, unknown, no_password):
        assert (caught.status_code, caught.error_type, caught.error_message) == (
            401,
            "unauthorized_credentials",
            wrong.error_message,
        )


def test_a_breached_password_at_login_must_be_reset(consumer, inbox, project):
    email = new_email()
    digest = hashlib.sha1(b"Password1").hexdigest()
    consumer.passwords.migrate(email=email, hash=digest, hash_type="sha_1")
    caught = error_of(lambda: consumer.passwords.authenticate(email=email, password="Password1"))
    assert caught.error_type == "reset_password"
    user = consumer.users.get(
        user_id=consumer.users.search(
            query={"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": [email]}]}
        )
        .results[0]
        .user_id
    )
    assert user.password.requires_reset is True
    token = reset_token(consumer, inbox, email)
    consumer.passwords.email.reset(token=token, password=NEW_PASSWORD)
    done = consumer.passwords.authenticate(email=email, password=NEW_PASSWORD)
    assert done.user.password.requires_reset is False


def test_a_first_passwordless_login_to_the_address_makes_the_password_reset_first(consumer, inbox):
    email = new_email()
    consumer.passwords.create(email=email, password=PASSWORD)
    consumer.passwords.authenticate(email=email, password=PASSWORD)  # the address is not proven yet
    consumer.magic_links.email.login_or_create(email=email)
    login = consumer.magic_links.authenticate(token=inbox.latest_token(email), session_duration_minutes=30)
    assert consumer.users.get(user_id=login.user_id).password.requires_reset is True
    assert (
        error_of(lambda: consumer.passwords.authenticate(email=email, password=PASSWORD)).error_type == "reset_password"
    )
    # A reset by session (the magic link just proved the address) clears it.
    consumer.passwords.sessions.reset(password=NEW_PASSWORD, session_token=login.session_token)
    assert consumer.passwords.authenticate(email=email, password=NEW_PASSWORD).user.password.requires_reset is False
    # The address is proven now: another passwordless login changes nothing.
    consumer.otps.email.login_or_create(email=email)
    code = next(w for w in inbox.latest(email)["text"].split() if w.isdigit() and len(w) == 6)
    consumer.otps.authenticate(method_id=login.user.emails[0].email_id, code=code)
    consumer.passwords.authenticate(email=email, password=NEW_PASSWORD)


# --- migrate: hashes made by other software ---


def _hashes(password: str) -> list[tuple[str, str, dict[str, Any]]]:
    salt = os.urandom(16)
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    raw_argon = argon2.low_level.hash_secret_raw(
        password.encode(),
        b"sodium-chloride",
        time_cost=1,
        memory_cost=1024,
        parallelism=1,
        hash_len=32,
        type=argon2.Type.ID,
    )
    return [
        ("bcrypt", bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode(), {}),
        ("phpass", phpass.using(rounds=8).hash(password), {}),
        ("scrypt", passlib_scrypt.using(rounds=8).hash(password), {}),
        (
            "scrypt",
            b64(hashlib.scrypt(password.encode(), salt=salt, n=1024, r=8, p=1, dklen=32)),
            {
                "scrypt_config": {
                    "salt": b64(salt),
                    "n_parameter": 1024,
                    "r_parameter": 8,
                    "p_parameter": 1,
                    "key_length": 32,
                }
            },
        ),
        ("argon_2i", argon2.PasswordHasher(time_cost=1, memory_cost=1024, type=argon2.Type.I).hash(password), {}),
        (
            "argon_2id",
            raw_argon.hex(),
            {
                "argon_2_config": {
                    "salt": "sodium-chloride",
                    "iteration_amount": 1,
                    "memory": 1024,
                    "threads": 1,
                    "key_length": 32,
                }
            },
        ),
        (
            "pbkdf_2",
            b64(hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 1000, 64)),
            {"pbkdf_2_config": {"salt": b64(salt), "iteration_amount": 1000, "key_length": 64, "algorithm": "sha512"}},
        ),
        (
            "md_5",
            hashlib.md5(("s4lt" + password).encode()).hexdigest(),
            {"md_5_config": {"prepend_salt": "s4lt", "append_salt": ""}},
        ),
        ("sha_1", hashlib.sha1(password.encode()).hexdigest(), {}),
        (
            "sha_512",
            hashlib.sha512((password + "pepper").encode()).hexdigest(),
            {"sha_512_config": {"prepend_salt": "", "append_salt": "pepper"}},
        ),
    ]


def test_every_migrate_hash_type_logs_in_and_is_rehashed_with_argon2id(consumer, project):
    for hash_type, digest, config in _hashes(PASSWORD):
        email = new_email(hash_type)
        migrated = consumer.passwords.migrate(
            email=email, hash=digest, hash_type=hash_type, set_email_verified=True, **config
        )
        assert migrated.user_created is True and migrated.user.emails[0].verified is True
        assert migrated.user.password is not None
        wrong = error_of(lambda e=email: consumer.passwords.authenticate(email=e, password=PASSWORD + "!"))
        assert wrong.error_type == "unauthorized_credentials", hash_type
        done = consumer.passwords.authenticate(email=email, password=PASSWORD, session_duration_minutes=10)
        assert done.user_id == migrated.user_id, hash_type
        row = stored(project, migrated.user_id)
        assert row.scheme == "argon2id" and row.hash.startswith("$argon2id$"), hash_type
        consumer.passwords.authenticate(email=email, password=PASSWORD)  # the new hash works too


def test_migrate_refuses_a_malformed_hash_and_keeps_nothing(consumer):
    email = new_email()
    caught = error_of(lambda: consumer.passwords.migrate(email=email, hash="nope", hash_type="bcrypt"))
    assert (caught.status_code, caught.error_type) == (400, "invalid_hash")
    caught = error_of(lambda: consumer.passwords.migrate(email=email, hash="00ff", hash_type="argon_2id"))
    assert caught.error_type == "invalid_hash"
    found = consumer.users.search(
        query={"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": [email]}]}
    )
    assert found.results == []


def test_migrate_onto_an_existing_user_keeps_it(consumer):
    email = new_email()
    user = consumer.users.create(email=email, external_id=f"ext-{uuid.uuid4().hex[:8]}")
    done = consumer.passwords.migrate(
        email=email, hash=bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode(), hash_type="bcrypt"
    )
    assert done.user_created is False and done.user_id == user.user_id
    assert consumer.passwords.authenticate(email=email, password=PASSWORD).user_id == user.user_id


# --- resets ---


def test_reset_by_email_end_to_end(consumer, inbox):
    email = new_email()
    made = consumer.passwords.create(email=email, password=PASSWORD, session_duration_minutes=60)
    token = reset_token(consumer, inbox, email)
    assert "Reset your password" in inbox.latest(email)["subject"]
    weak = error_of(lambda: consumer.passwords.email.reset(token=token, password="qwertyuiop"))
    assert weak.error_type == "weak_password"  # the token is still good
    done = consumer.passwords.email.reset(token=token, password=NEW_PASSWORD, session_duration_minutes=30)
    assert done.session is not None and done.user.emails[0].verified is True
    # The old session is revoked, the old password no longer works, the new one does.
    assert (
        error_of(lambda: consumer.sessions.authenticate(session_token=made.session_token)).error_type
        == "session_not_found"
    )
    assert (
        error_of(lambda: consumer.passwords.authenticate(email=email, password=PASSWORD)).error_type
        == "unauthorized_credentials"
    )
    consumer.passwords.authenticate(email=email, password=NEW_PASSWORD)
    again = error_of(lambda: consumer.passwords.email.reset(token=token, password=NEW_PASSWORD + "x"))
    assert again.error_type == "unable_to_auth_magic_link"
    unknown = error_of(lambda: consumer.passwords.email.reset(token="x" * 44, password=NEW_PASSWORD))
    assert unknown.error_type == "magic_link_not_found"


def test_reset_links_expire_after_their_minutes(consumer, inbox, project):
    email = new_email()
    consumer.passwords.create(email=email, password=PASSWORD)
    token = reset_token(consumer, inbox, email, reset_password_expiration_minutes=5)
    advance(project, 6 * 60)
    assert error_of(lambda: consumer.passwords.email.reset(token=token, password=NEW_PASSWORD)).error_type == (
        "unable_to_auth_magic_link"
    )
    bad = error_of(lambda: consumer.passwords.email.reset_start(email=email, reset_password_expiration_minutes=4))
    assert bad.error_type == "invalid_expiration_minutes"
    assert error_of(lambda: consumer.passwords.email.reset_start(email=new_email())).error_type == "email_not_found"


def test_one_reset_token_spent_by_20_requests_at_once_works_once(consumer, inbox):
    email = new_email()
    consumer.passwords.create(email=email, password=PASSWORD)
    token = reset_token(consumer, inbox, email)

    def spend(i: int) -> str:
        try:
            consumer.passwords.email.reset(token=token, password=f"{NEW_PASSWORD}-{i}")
            return f"ok-{i}"
        except stytch.core.response_base.StytchError as exc:
            return exc.details.error_type

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(spend, range(20)))
    winners = [a for a in answers if a.startswith("ok-")]
    assert len(winners) == 1, answers
    assert set(answers) - set(winners) <= {"unable_to_auth_magic_link"}
    consumer.passwords.authenticate(email=email, password=f"{NEW_PASSWORD}-{winners[0][3:]}")


def test_reset_by_existing_password(consumer):
    email = new_email()
    made = consumer.passwords.create(email=email, password=PASSWORD, session_duration_minutes=60)
    wrong = error_of(
        lambda: consumer.passwords.existing_password.reset(
            email=email, existing_password="nope", new_password=NEW_PASSWORD
        )
    )
    assert wrong.error_type == "unauthorized_credentials"
    done = consumer.passwords.existing_password.reset(
        email=email, existing_password=PASSWORD, new_password=NEW_PASSWORD, session_duration_minutes=10
    )
    assert done.session is not None
    assert (
        error_of(lambda: consumer.sessions.authenticate(session_token=made.session_token)).error_type
        == "session_not_found"
    )
    consumer.passwords.authenticate(email=email, password=NEW_PASSWORD)


def test_reset_by_session_keeps_that_session_and_revokes_the_others(consumer, project):
    email = new_email()
    first = consumer.passwords.create(email=email, password=PASSWORD, session_duration_minutes=60)
    second = consumer.passwords.authenticate(email=email, password=PASSWORD, session_duration_minutes=60)
    done = consumer.passwords.sessions.reset(password=NEW_PASSWORD, session_token=second.session_token)
    assert done.session.session_id == second.session.session_id and done.session_jwt
    consumer.sessions.authenticate(session_token=second.session_token)
    assert (
        error_of(lambda: consumer.sessions.authenticate(session_token=first.session_token)).error_type
        == "session_not_found"
    )
    consumer.passwords.authenticate(email=email, password=NEW_PASSWORD)
    # Once the factor is older than 5 minutes, the session cannot reset the password.
    advance(project, 6 * 60)
    old = error_of(
        lambda: consumer.passwords.sessions.reset(password=PASSWORD + "!", session_token=second.session_token)
    )
    assert old.error_type == "session_too_old_to_reset_password"


def test_reset_by_session_after_an_email_login(consumer, inbox):
    login = consumer_login(consumer, inbox)
    done = consumer.passwords.sessions.reset(password=NEW_PASSWORD, session_token=login.session_token)
    assert done.user.password is not None


def test_delete_password(consumer):
    email = new_email()
    made = consumer.passwords.create(email=email, password=PASSWORD, session_duration_minutes=60)
    done = consumer.users.delete_password(password_id=made.user.password.password_id)
    assert done.user.password is None
    assert (
        error_of(lambda: consumer.passwords.authenticate(email=email, password=PASSWORD)).error_type
        == "unauthorized_credentials"
    )
    consumer.sessions.authenticate(session_token=made.session_token)  # sessions stay
    gone = error_of(lambda: consumer.users.delete_password(password_id=made.user.password.password_id))
    assert gone.error_type == "password_not_found"


def test_another_projects_password_is_out_of_reach(consumer, other_project):
    made = consumer.passwords.create(email=new_email(), password=PASSWORD)
    with client_of(other_project) as other:
        assert error_of(lambda: other.users.delete_password(password_id=made.user.password.password_id)).error_type == (
            "password_not_found"
        )


# --- lockout ---


def test_ten_wrong_passwords_lock_the_account_out(consumer):
    email = new_email()
    consumer.passwords.create(email=email, password=PASSWORD)
    for _ in range(10):
        assert error_of(lambda: consumer.passwords.authenticate(email=email, password="wrong-guess")).error_type == (
            "unauthorized_credentials"
        )
    locked = error_of(lambda: consumer.passwords.authenticate(email=email, password=PASSWORD))
    assert (locked.status_code, locked.error_type) == (429, "too_many_requests")
    # Another account is not locked by it.
    other = new_email()
    consumer.passwords.create(email=other, password=PASSWORD)
    consumer.passwords.authenticate(email=other, password=PASSWORD)


@pytest.fixture(scope="module")
def guarded_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A keystile whose operator set a tight per-address limit on wrong passwords."""
    yield from own_server(backend, tmp_path_factory, "pw-ip", rate_limits={"password_ip": "3/minute"})


def test_wrong_passwords_across_accounts_lock_the_client_address_out(guarded_server):
    with client_of(make_project(guarded_server)) as client:
        email = new_email()
        client.passwords.create(email=email, password=PASSWORD)
        for _ in range(3):  # three accounts (two of them unknown), one wrong try each
            caught = error_of(lambda: client.passwords.authenticate(email=new_email(), password="guess"))
            assert caught.error_type == "unauthorized_credentials"
        locked = error_of(lambda: client.passwords.authenticate(email=email, password=PASSWORD))
        assert (locked.status_code, locked.error_type) == (429, "too_many_requests")


# --- no enumeration by timing (a server of its own, lockout off) ---


@pytest.fixture(scope="module")
def quiet_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from own_server(backend, tmp_path_factory, "pw", rate_limits={"password_account": "", "password_ip": ""})


def test_an_unknown_email_costs_what_a_wrong_password_costs(quiet_server):
    with client_of(make_project(quiet_server)) as client:
        email = new_email()
        client.passwords.create(email=email, password=PASSWORD)

        def timed(address: str) -> float:
            start = time.perf_counter()
            caught = error_of(lambda: client.passwords.authenticate(email=address, password="not-the-password"))
            assert caught.error_type == "unauthorized_credentials"
            return time.perf_counter() - start

        for _ in range(3):  # warm up both paths
            timed(email), timed(new_email())
        known, unknown = [], []
        for _ in range(25):  # interleaved, so load on the machine hits both alike
            known.append(timed(email))
            unknown.append(timed(new_email()))
    ratio = statistics.median(unknown) / statistics.median(known)
    # Both answers cost one argon2id hash (tens of milliseconds); without the dummy hash an
    # unknown email would answer in a few milliseconds, a ratio near 0.1.
    assert 0.6 < ratio < 1.6, (statistics.median(known), statistics.median(unknown))
