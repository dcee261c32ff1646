"""Consumer TOTP through the official SDK: totps.create / authenticate / recovery_codes /
recover and users.delete_totp, and the User object's `totps`."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyotp
import requests
import stytch
from stytch.core.response_base import StytchError

from tests.flows import consumer_login, error_of, new_email


def code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def new_user(consumer: Any) -> str:
    return consumer.users.create(email=new_email("totp")).user_id


def enrolled(consumer: Any) -> tuple[str, Any, str]:
    """A user whose new TOTP accepted a first code: its id, the create response and the code."""
    user_id = new_user(consumer)
    created = consumer.totps.create(user_id=user_id)
    used = code(created.secret)
    consumer.totps.authenticate(user_id=user_id, totp_code=used)
    return user_id, created, used


def test_create_returns_a_pending_totp_with_a_qr_code_and_ten_recovery_codes(consumer):
    user_id = new_user(consumer)
    created = consumer.totps.create(user_id=user_id, expiration_minutes=60)
    assert created.user_id == user_id
    assert created.totp_id.startswith("totp-test-")
    assert created.qr_code.startswith("data:image/png;base64, iVBOR")
    assert len(created.recovery_codes) == 10 and len(set(created.recovery_codes)) == 10
    assert len(pyotp.TOTP(created.secret).now()) == 6
    assert [(t.totp_id, t.verified) for t in created.user.totps] == [(created.totp_id, False)]
    assert consumer.users.get(user_id=user_id).totps[0].totp_id == created.totp_id


def test_create_refuses_an_expiration_out_of_bounds_and_an_unknown_user(consumer):
    user_id = new_user(consumer)
    assert error_of(lambda: consumer.totps.create(user_id=user_id, expiration_minutes=4)).error_type == (
        "invalid_argument"
    )
    assert error_of(lambda: consumer.totps.create(user_id="user-test-nobody")).error_type == "user_not_found"


def test_authenticate_verifies_the_totp_and_starts_a_session_with_a_totp_factor(consumer):
    user_id = new_user(consumer)
    created = consumer.totps.create(user_id=user_id)
    done = consumer.totps.authenticate(user_id=user_id, totp_code=code(created.secret), session_duration_minutes=30)
    assert done.totp_id == created.totp_id and done.user_id == user_id
    assert [(t.totp_id, t.verified) for t in done.user.totps] == [(created.totp_id, True)]
    [factor] = done.session.authentication_factors
    assert (factor.type, factor.delivery_method) == ("totp", "authenticator_app")
    assert factor.authenticator_app_factor.totp_id == created.totp_id
    checked = consumer.sessions.authenticate(session_token=done.session_token)
    assert checked.session.session_id == done.session.session_id
    assert consumer.sessions.authenticate(session_jwt=done.session_jwt).session.user_id == user_id


def test_authenticate_without_a_duration_starts_no_session(consumer):
    user_id = new_user(consumer)
    created = consumer.totps.create(user_id=user_id)
    done = consumer.totps.authenticate(user_id=user_id, totp_code=code(created.secret))
    assert done.session is None and done.session_token == "" and done.session_jwt == ""


def test_authenticate_adds_the_factor_to_the_users_session(consumer, inbox):
    email = new_email("stepup")
    first = consumer_login(consumer, inbox, email=email)
    created = consumer.totps.create(user_id=first.user_id)
    done = consumer.totps.authenticate(
        user_id=first.user_id, totp_code=code(created.secret), session_token=first.session_token
    )
    assert done.session.session_id == first.session.session_id
    assert [f.type for f in done.session.authentication_factors] == ["magic_link", "totp"]
    by_jwt = consumer.totps.recover(
        user_id=first.user_id, recovery_code=created.recovery_codes[0], session_jwt=first.session_jwt
    )
    assert by_jwt.session.session_id == first.session.session_id
    assert [f.type for f in by_jwt.session.authentication_factors] == ["magic_link", "totp", "recovery_codes"]


def test_a_code_is_accepted_once_and_a_wrong_code_is_refused(consumer):
    user_id, created, used = enrolled(consumer)
    reused = error_of(lambda: consumer.totps.authenticate(user_id=user_id, totp_code=used))
    assert (reused.status_code, reused.error_type) == (401, "totp_code_already_authenticated")
    wrong = "000000" if code(created.secret) != "000000" else "111111"
    caught = error_of(lambda: consumer.totps.authenticate(user_id=user_id, totp_code=wrong))
    assert (caught.status_code, caught.error_type) == (401, "unable_to_authenticate_totp")


def _concurrently(project: Any, call: Any, times: int = 10) -> list[int]:
    """`call(client)` from `times` threads, each with its own client: the status codes."""

    def attempt(_: int) -> int:
        with requests.Session() as session:
            client = stytch.Client(
                project.project_id, project.secret, environment=project.server.base_url, sync_session=session
            )
            try:
                call(client)
                return 200
            except StytchError as exc:
                return exc.details.status_code

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(attempt, range(times)))


def test_concurrent_authenticates_of_one_code_give_one_success(consumer, project):
    user_id = new_user(consumer)
    created = consumer.totps.create(user_id=user_id)
    one = code(created.secret)
    results = _concurrently(project, lambda client: client.totps.authenticate(user_id=user_id, totp_code=one))
    assert results.count(200) == 1
    assert set(results) <= {200, 401, 429}


def test_concurrent_recovers_of_one_code_give_one_success(consumer, project):
    user_id, created, _ = enrolled(consumer)
    one = created.recovery_codes[3]
    results = _concurrently(project, lambda client: client.totps.recover(user_id=user_id, recovery_code=one))
    assert results.count(200) == 1
    assert set(results) <= {200, 401, 429}


def test_one_step_of_drift_is_tolerated(consumer):
    user_id = new_user(consumer)
    created = consumer.totps.create(user_id=user_id)
    consumer.totps.authenticate(user_id=user_id, totp_code=code(created.secret, -1))
    too_old = error_of(lambda: consumer.totps.authenticate(user_id=user_id, totp_code=code(created.secret, -3)))
    assert too_old.error_type == "unable_to_authenticate_totp"


def test_wrong_codes_are_limited_per_user(consumer):
    user_id, created, _ = enrolled(consumer)
    wrong = [
        c for c in ("000000", "111111", "222222", "333333") if c not in {code(created.secret, s) for s in (-1, 0, 1)}
    ]
    for attempt in range(5):
        guess = wrong[attempt % 2]
        caught = error_of(lambda guess=guess: consumer.totps.authenticate(user_id=user_id, totp_code=guess))
        assert caught.error_type == "unable_to_authenticate_totp"
    limited = error_of(lambda: consumer.totps.authenticate(user_id=user_id, totp_code=code(created.secret, 1)))
    assert limited.status_code == 429


def test_a_verified_totp_must_be_deleted_before_a_new_one(consumer):
    user_id, _, _ = enrolled(consumer)
    assert error_of(lambda: consumer.totps.create(user_id=user_id)).error_type == "active_totp_exists"


def test_a_user_without_totp_cannot_authenticate_or_recover(consumer):
    user_id = new_user(consumer)
    assert error_of(lambda: consumer.totps.authenticate(user_id=user_id, totp_code="123456")).error_type == (
        "totp_not_found"
    )
    assert error_of(lambda: consumer.totps.recover(user_id=user_id, recovery_code="abcd-efgh-ijkl")).error_type == (
        "totp_not_found"
    )
    assert consumer.totps.recovery_codes(user_id=user_id).totps == []


def test_recovery_codes_are_listed_and_single_use(consumer):
    user_id, created, _ = enrolled(consumer)
    listed = consumer.totps.recovery_codes(user_id=user_id)
    [totp] = listed.totps
    assert (totp.totp_id, totp.verified, totp.recovery_codes) == (created.totp_id, True, created.recovery_codes)
    done = consumer.totps.recover(
        user_id=user_id, recovery_code=created.recovery_codes[0].upper(), session_duration_minutes=30
    )
    assert done.totp_id == created.totp_id
    [factor] = done.session.authentication_factors
    assert (factor.type, factor.delivery_method) == ("recovery_codes", "recovery_code")
    again = error_of(lambda: consumer.totps.recover(user_id=user_id, recovery_code=created.recovery_codes[0]))
    assert (again.status_code, again.error_type) == (401, "unable_to_authenticate_recovery_code")
    assert consumer.totps.recovery_codes(user_id=user_id).totps[0].recovery_codes == created.recovery_codes[1:]
    wrong = error_of(lambda: consumer.totps.recover(user_id=user_id, recovery_code="zzzz-zzzz-zzzz"))
    assert wrong.error_type == "unable_to_authenticate_recovery_code"


def test_recover_by_external_id(consumer):
    external_id = f"ext-{time.time_ns()}"
    user_id = consumer.users.create(email=new_email("ext"), external_id=external_id).user_id
    created = consumer.totps.create(user_id=external_id)
    done = consumer.totps.recover(user_id=external_id, recovery_code=created.recovery_codes[1])
    assert done.user_id == user_id and done.session is None


def test_delete_totp_removes_it_and_its_recovery_codes(consumer):
    user_id, created, _ = enrolled(consumer)
    deleted = consumer.users.delete_totp(totp_id=created.totp_id)
    assert deleted.user_id == user_id and deleted.user.totps == []
    assert consumer.users.get(user_id=user_id).totps == []
    assert error_of(
        lambda: consumer.totps.recover(user_id=user_id, recovery_code=created.recovery_codes[0])
    ).error_type == ("totp_not_found")
    again = error_of(lambda: consumer.users.delete_totp(totp_id=created.totp_id))
    assert (again.status_code, again.error_type) == (404, "totp_not_found")
    recreated = consumer.totps.create(user_id=user_id)
    assert recreated.totp_id != created.totp_id
    assert not set(recreated.recovery_codes) & set(created.recovery_codes)


def test_an_expired_pending_totp_is_gone(consumer, server):
    user_id = new_user(consumer)
    created = consumer.totps.create(user_id=user_id, expiration_minutes=5)
    server.clock.advance(minutes=6)
    assert consumer.users.get(user_id=user_id).totps == []
    caught = error_of(lambda: consumer.totps.authenticate(user_id=user_id, totp_code=code(created.secret)))
    assert caught.error_type == "totp_not_found"


def test_another_projects_user_and_totp_are_not_found(consumer, other_project):
    user_id, created, _ = enrolled(consumer)
    with requests.Session() as session:
        neighbour = stytch.Client(
            other_project.project_id,
            other_project.secret,
            environment=other_project.server.base_url,
            sync_session=session,
        )
        assert error_of(lambda: neighbour.totps.create(user_id=user_id)).error_type == "user_not_found"
        assert error_of(
            lambda: neighbour.totps.authenticate(user_id=user_id, totp_code=code(created.secret, 1))
        ).error_type == ("user_not_found")
        assert error_of(lambda: neighbour.totps.recovery_codes(user_id=user_id)).error_type == "user_not_found"
        assert (
            error_of(
                lambda: neighbour.totps.recover(user_id=user_id, recovery_code=created.recovery_codes[0])
            ).error_type
            == "user_not_found"
        )
        assert error_of(lambda: neighbour.users.delete_totp(totp_id=created.totp_id)).error_type == "totp_not_found"
    assert consumer.users.get(user_id=user_id).totps[0].verified is True
    assert consumer.totps.recovery_codes(user_id=user_id).totps[0].recovery_codes == created.recovery_codes
