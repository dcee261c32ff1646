"""Where signing keys come from: a keyring makes a fresh RSA key for every project unless it
is given another source; the test servers get the suite's pool, which never deals one key
twice in a row to the projects of one test."""

from __future__ import annotations

from keystile.core.keys import Keyring, MasterKey, new_signing_key
from tests.support import KEY_POOL, KeyPool


def modulus(key) -> int:
    return key.public_key().public_numbers().n


def test_a_keyring_makes_a_fresh_key_each_time_by_default():
    keyring = Keyring(MasterKey("m" * 43))
    assert keyring.new_key is new_signing_key
    first, second = keyring.new_key(), keyring.new_key()
    assert first.key_size == second.key_size == 2048
    assert modulus(first) != modulus(second)


def test_the_pool_deals_size_distinct_keys_in_a_row_then_the_same_again():
    pool = KeyPool(size=3)
    dealt = [modulus(pool()) for _ in range(7)]
    assert len(set(dealt[:3])) == 3
    assert dealt[3:6] == dealt[:3]
    assert dealt[6] == dealt[0]


def test_the_test_servers_draw_their_keys_from_the_pool(server):
    assert server.state.keyring.new_key is KEY_POOL
