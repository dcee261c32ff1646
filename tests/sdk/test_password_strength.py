"""passwords.strength_check through the official SDK: zxcvbn (the default) and LUDS verdicts
with their feedback, the shipped breach list, Have I Been Pwned's range API (a local server
that speaks it) with its k-anonymity, its timeout and its failure (open), and the policy read
from keystile.toml's `[projects.passwords]`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import stytch

from keystile.core import password_policy
from keystile.core.password_policy import PasswordPolicy
from tests.pwned_fake import FakePwnedPasswords, sha1_hex
from tests.support import ProjectInfo, Server, make_project, own_server

STRONG = "tangerine-Vortex-harbor-1987"
# Strong by zxcvbn, absent from the shipped list: breached only where the fake API says so.
PWNED_ONLY = "Quixotic-lantern-Meridian-42"


def set_policy(project: ProjectInfo, **rules: Any) -> None:
    async def store() -> None:
        async with project.server.state.transaction() as conn:
            await password_policy.store(conn, project.project_id, PasswordPolicy(**rules))

    project.server.run(store())


def test_a_strong_password_is_valid_under_zxcvbn(consumer):
    found = consumer.passwords.strength_check(password=STRONG)
    assert found.valid_password is True
    assert found.score >= 3
    assert found.breached_password is False
    assert found.strength_policy == "zxcvbn"
    assert found.breach_detection_on_create is True
    assert found.feedback is not None and found.feedback.warning == "" and found.feedback.suggestions == []


def test_a_weak_password_gets_zxcvbns_warning_and_suggestions(consumer):
    found = consumer.passwords.strength_check(password="qwertyuiop")
    assert found.valid_password is False
    assert found.score < 3
    assert found.feedback.warning
    assert found.feedback.suggestions
    assert found.feedback.luds_requirements is None


def test_the_email_counts_against_a_password_made_of_it(consumer):
    alone = consumer.passwords.strength_check(password="marguerite.okonkwo77")
    with_email = consumer.passwords.strength_check(
        password="marguerite.okonkwo77", email="marguerite.okonkwo@acme.test"
    )
    assert with_email.score < alone.score


def test_a_common_breached_password_is_breached_offline(consumer):
    found = consumer.passwords.strength_check(password="Password1")
    assert found.breached_password is True
    assert found.valid_password is False
    assert "breach" in found.feedback.warning


def test_luds_lists_what_is_missing(consumer, project):
    set_policy(project, strength_policy="luds", luds_min_length=12, luds_complexity=4)
    weak = consumer.passwords.strength_check(password="abcdEFGH")
    assert weak.strength_policy == "luds"
    assert weak.valid_password is False
    luds = weak.feedback.luds_requirements
    assert (luds.has_lower_case, luds.has_upper_case, luds.has_digit, luds.has_symbol) == (True, True, False, False)
    assert luds.missing_complexity == 2
    assert luds.missing_characters == 4
    good = consumer.passwords.strength_check(password="abcdEFGH12!?")
    assert good.valid_password is True
    assert good.feedback.luds_requirements.missing_complexity == 0
    assert good.feedback.luds_requirements.missing_characters == 0


def test_luds_counts_any_non_letter_non_digit_as_a_symbol(consumer, project):
    set_policy(project, strength_policy="luds", luds_min_length=8, luds_complexity=4)
    found = consumer.passwords.strength_check(password="abcDEF12é")
    assert found.feedback.luds_requirements.has_symbol is True
    assert found.valid_password is True


def test_breach_detection_off_never_says_breached(consumer, project):
    set_policy(project, breach_detection_on_create=False)
    found = consumer.passwords.strength_check(password="Password1")
    assert found.breach_detection_on_create is False
    assert found.breached_password is False


def test_strength_check_needs_a_password(http, project):
    resp = http.post(f"{project.server.base_url}v1/passwords/strength_check", json={})
    assert resp.status_code == 400
    assert resp.json()["error_type"]


# --- Have I Been Pwned, through a local server that speaks its range API ---


@pytest.fixture(scope="module")
def pwned() -> Iterator[FakePwnedPasswords]:
    with FakePwnedPasswords({PWNED_ONLY: 7}) as fake:
        yield fake


@pytest.fixture(scope="module")
def pwned_server(backend: str, tmp_path_factory: pytest.TempPathFactory, pwned: FakePwnedPasswords) -> Iterator[Server]:
    yield from own_server(
        backend, tmp_path_factory, "pwned", pwned_passwords_url=pwned.url, pwned_passwords_timeout=0.5
    )


@pytest.fixture
def pwned_client(pwned_server: Server) -> Iterator[Any]:
    project = make_project(pwned_server)
    with requests.Session() as session:
        yield stytch.Client(project.project_id, project.secret, environment=pwned_server.base_url, sync_session=session)


def test_the_range_api_finds_a_breach_and_only_the_prefix_leaves(pwned_client, pwned):
    pwned.asked.clear()
    found = pwned_client.passwords.strength_check(password=PWNED_ONLY)
    assert found.breached_password is True and found.valid_password is False
    digest = sha1_hex(PWNED_ONLY)
    assert pwned.asked == [f"/range/{digest[:5]}"]
    assert pwned.headers[-1].get("Add-Padding") == "true"


def test_a_password_the_range_api_does_not_know_is_not_breached(pwned_client, pwned):
    found = pwned_client.passwords.strength_check(password=STRONG)
    assert found.breached_password is False and found.valid_password is True


def test_the_range_api_failing_or_late_fails_open(pwned_client, pwned):
    pwned.failing = True
    try:
        assert pwned_client.passwords.strength_check(password=PWNED_ONLY).breached_password is False
    finally:
        pwned.failing = False
    pwned.delay = 1.0
    try:
        assert pwned_client.passwords.strength_check(password=PWNED_ONLY).breached_password is False
    finally:
        pwned.delay = 0.0
    # The shipped list still applies when the API is down.
    pwned.failing = True
    try:
        assert pwned_client.passwords.strength_check(password="Password1").breached_password is True
    finally:
        pwned.failing = False


# --- the policy from keystile.toml ---


def _toml(tmp_path: Path, passwords: str) -> Path:
    config = tmp_path / "keystile.toml"
    config.write_text(
        "[[projects]]\n"
        'project_id = "project-test-password-policy"\n'
        'secret = "secret-test-0123456789abcdefghijklmnop"\n'
        "[projects.passwords]\n" + passwords
    )
    return config


def test_keystile_toml_sets_the_projects_password_policy(tmp_path):
    import asyncio

    from keystile.app import prepare
    from keystile.config import Settings
    from keystile.core.state import make_state

    config = _toml(tmp_path, 'strength_policy = "luds"\nluds_min_length = 10\nbreach_detection_on_create = false\n')
    settings = Settings(env="dev", data_dir=tmp_path, config_file=config, auto_migrate=True)

    async def applied() -> PasswordPolicy:
        state = make_state(settings)
        try:
            await prepare(state)
            async with state.transaction() as conn:
                return await password_policy.load(conn, "project-test-password-policy")
        finally:
            await state.engine.dispose()

    policy = asyncio.run(applied())
    assert (policy.strength_policy, policy.luds_min_length, policy.luds_complexity) == ("luds", 10, 3)
    assert policy.breach_detection_on_create is False


def test_keystile_toml_refuses_an_unknown_policy_with_its_line(tmp_path):
    from keystile.config import ConfigFileError, load_file_config

    with pytest.raises(ConfigFileError) as caught:
        load_file_config(_toml(tmp_path, 'strength_policy = "length"\n'))
    assert "line 5" in str(caught.value) and "strength_policy" in str(caught.value)
    with pytest.raises(ConfigFileError) as caught:
        load_file_config(_toml(tmp_path, "min_length = 3\n"))
    assert "luds_min_length" in str(caught.value)  # the allowed keys are named
