"""TOTP and recovery code checks that need no server: the step a code matches, and secrets
sealed with the master key for one purpose only."""

from __future__ import annotations

import re

import pyotp
import pytest
from cryptography.exceptions import InvalidTag

from keystile.core.keys import MasterKey
from keystile.recovery_codes.service import code_hash, new_code
from keystile.totps.codes import matching_step

SECRET = pyotp.random_base32(32)
NOW = 1_800_000_015.0
STEP = int(NOW // 30)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_of_one_step_either_side_matches_its_step(offset: int) -> None:
    code = pyotp.TOTP(SECRET).at((STEP + offset) * 30)
    assert matching_step(SECRET, code, NOW) == STEP + offset


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_does_not_match(offset: int) -> None:
    code = pyotp.TOTP(SECRET).at((STEP + offset) * 30)
    assert matching_step(SECRET, code, NOW) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef"])
def test_a_code_that_is_not_six_digits_matches_nothing(code: str) -> None:
    assert matching_step(SECRET, code, NOW) is None


def test_a_sealed_secret_opens_only_for_its_purpose() -> None:
    master = MasterKey("a-master-key-for-tests-of-32-chars!!")
    sealed = master.seal("totp:project-a:member-a:reg-a", SECRET)
    assert SECRET not in sealed
    assert master.unseal("totp:project-a:member-a:reg-a", sealed) == SECRET
    with pytest.raises(InvalidTag):
        master.unseal("totp:project-a:member-b:reg-a", sealed)


def test_recovery_codes_look_like_stytchs_and_hash_per_member() -> None:
    code = new_code()
    assert re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", code)
    assert code_hash("p", "m1", code) != code_hash("p", "m2", code)
    assert code_hash("p", "m1", code.upper() + " ") == code_hash("p", "m1", code)
