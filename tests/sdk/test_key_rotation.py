"""Signing key rotation with `keystile keys rotate`, seen by the official SDK: apps that
verify JWTs locally (with the SDK's cached JWK set) never see a failure.

The command runs against the server's database with its own engine, keyring and
transaction, as an operator's would: in this process (typer's CliRunner) for most tests,
as a process of its own for `--activate-in 0` (tests/http/test_operations.py and
test_cli.py run the other commands so too).

Time moves for both sides at once: `advance` moves the server's clock and the clock of
the app's JWT library (PyJWT's JWK set cache, refetch cooldown and claim checks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jwt as pyjwt
import jwt.api_jwk
import jwt.api_jwt
import jwt.jwk_set_cache
import jwt.jwks_client
import pytest
import stytch
import stytch.shared.jwt_helpers
from stytch.core.response_base import StytchError

from tests.flows import discovery_signup, new_email
from tests.support import keystile_in_process


def keys_cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """`keystile keys …` on the server's database, run in this process."""
    settings = {
        "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
        "KEYSTILE_DATABASE_URL": server.settings.database_url,
    }
    return keystile_in_process(settings, "keys", *args)


def keys_process(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """`keystile keys …` on the server's database, run as a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTILE_")}
    env["KEYSTILE_DATA_DIR"] = str(server.settings.data_dir)
    env["KEYSTILE_DATABASE_URL"] = server.settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "keystile", "keys", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def rotate(server: Any, project_id: str, *flags: str, cli: Callable[..., Any] = keys_cli) -> dict[str, Any]:
    done = cli(server, "rotate", "--project", project_id, "--json", *flags)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def kid_of(token: str) -> str:
    return pyjwt.get_unverified_header(token)["kid"]


@pytest.fixture
def member(b2b, inbox):
    return discovery_signup(b2b, inbox, new_email())


@pytest.fixture
def advance(server, monkeypatch) -> Callable[..., None]:
    """`advance(minutes=…)`: time passes for keystile and for the app verifying JWTs."""
    base = server.clock.offset

    def shift() -> float:
        return (server.clock.offset - base).total_seconds()

    class ShiftedTime:
        @staticmethod
        def monotonic() -> float:
            return time.monotonic() + shift()

        @staticmethod
        def time() -> float:
            return time.time() + shift()

    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=shift())

    for module in (jwt.jwks_client, jwt.jwk_set_cache, jwt.api_jwk, stytch.shared.jwt_helpers):
        monkeypatch.setattr(module, "time", ShiftedTime)
    monkeypatch.setattr(jwt.api_jwt, "datetime", ShiftedDatetime)
    return server.clock.advance


def published(b2b: Any, project_id: str) -> list[str]:
    return [k.kid for k in b2b.sessions.get_jwks(project_id=project_id).keys]


def fresh_jwt(b2b: Any, member: Any) -> str:
    return b2b.sessions.authenticate(session_token=member.session_token).session_jwt


@pytest.fixture
def old_kid(b2b, member) -> str:
    """The app verified the member's JWT locally once: the SDK caches the key set."""
    b2b.sessions.authenticate_jwt_local(session_jwt=member.session_jwt)
    return kid_of(member.session_jwt)


@pytest.fixture
def rotated(project, server, old_kid, advance) -> dict[str, Any]:
    """`keystile keys rotate` with its default schedule."""
    result = rotate(server, project.project_id)
    assert result["retired"] == [old_kid]
    return result


class TestRotate:
    def test_new_key_is_published_at_once(self, b2b, project, old_kid, rotated):
        assert published(b2b, project.project_id) == [rotated["kid"], old_kid]

    def test_old_key_signs_until_the_new_one_activates(self, b2b, member, old_kid, rotated):
        assert kid_of(fresh_jwt(b2b, member)) == old_kid

    def test_old_jwt_still_verifies_locally_with_the_cached_key_set(self, b2b, member, rotated):
        local = b2b.sessions.authenticate_jwt_local(session_jwt=member.session_jwt)
        assert local.member_session_id == member.member_session.member_session_id

    def test_old_jwt_verifies_locally_with_a_freshly_fetched_key_set(self, member, project, rotated):
        fresh = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
        local = fresh.sessions.authenticate_jwt_local(session_jwt=member.session_jwt)
        assert local.member_id == member.member_id

    def test_old_jwt_still_authenticates_on_the_server(self, b2b, member, rotated):
        resp = b2b.sessions.authenticate(session_jwt=member.session_jwt)
        assert resp.member_session.member_session_id == member.member_session.member_session_id

    def test_new_key_signs_once_activated(self, b2b, member, rotated, advance):
        advance(minutes=6)
        assert kid_of(fresh_jwt(b2b, member)) == rotated["kid"]

    def test_new_jwt_verifies_locally_with_a_key_set_cached_before_rotation(self, b2b, member, rotated, advance):
        advance(minutes=6)
        local = b2b.sessions.authenticate_jwt_local(session_jwt=fresh_jwt(b2b, member))
        assert local.member_session_id == member.member_session.member_session_id

    def test_old_key_stays_published_while_its_last_jwts_may_live(self, b2b, project, old_kid, rotated, advance):
        advance(minutes=6 + 9)
        assert published(b2b, project.project_id) == [rotated["kid"], old_kid]

    def test_old_key_leaves_the_jwks_once_its_jwts_have_expired(self, b2b, project, rotated, advance):
        advance(minutes=6 + 11)
        assert published(b2b, project.project_id) == [rotated["kid"]]

    def test_second_rotation_keeps_every_key_whose_window_is_open(self, b2b, project, server, old_kid, rotated):
        again = rotate(server, project.project_id)
        assert published(b2b, project.project_id) == [again["kid"], rotated["kid"], old_kid]


class TestRotateActivatingAtOnce:
    """`--activate-in 0` from another process: the new key signs at once, in every process."""

    def test_a_jwt_minted_after_rotation_is_signed_by_the_new_key(self, b2b, member, project, server, old_kid):
        # The member's JWT is fresh and would be handed out again: the rotation must win.
        result = rotate(server, project.project_id, "--activate-in", "0", cli=keys_process)
        assert kid_of(fresh_jwt(b2b, member)) == result["kid"] != old_kid

    def test_new_jwt_verifies_locally_once_the_sdk_may_refetch(self, b2b, member, project, server, old_kid, advance):
        rotate(server, project.project_id, "--activate-in", "0", cli=keys_process)
        advance(seconds=31)  # PyJWKClient refetches an unknown kid at most every 30 seconds
        local = b2b.sessions.authenticate_jwt_local(session_jwt=fresh_jwt(b2b, member))
        assert local.member_id == member.member_id


class TestRotateNow:
    """`--now`, for a leaked key: the old key is neither published nor trusted any more."""

    def test_old_key_leaves_the_jwks_at_once(self, b2b, member, project, server):
        result = rotate(server, project.project_id, "--now")
        assert published(b2b, project.project_id) == [result["kid"]]

    def test_old_jwt_is_refused_by_the_server(self, b2b, member, project, server):
        rotate(server, project.project_id, "--now")
        with pytest.raises(StytchError) as caught:
            b2b.sessions.authenticate(session_jwt=member.session_jwt)
        assert caught.value.details.error_type == "jwt_invalid_claims"

    def test_the_session_token_still_works_and_gets_a_jwt_of_the_new_key(self, b2b, member, project, server):
        result = rotate(server, project.project_id, "--now")
        assert kid_of(fresh_jwt(b2b, member)) == result["kid"]


def test_rotation_is_scoped_to_its_project(b2b, member, project, other_project, server):
    before = published(b2b, other_project.project_id)
    rotate(server, project.project_id)
    assert published(b2b, other_project.project_id) == before
