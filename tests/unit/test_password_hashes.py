"""passwords/hashing.py against hashes made by other software (bcrypt, passlib, hashlib,
argon2-cffi's low level): every passwords.migrate type verifies the right password and
refuses a wrong one; keystile's own hashes are argon2id at OWASP's parameters."""

from __future__ import annotations

import base64
import hashlib
import os

import argon2
import bcrypt
import pytest
from passlib.hash import phpass
from passlib.hash import scrypt as passlib_scrypt

from keystile.passwords import hashing

PASSWORD = "correct hörse battery stäple"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def made_elsewhere() -> list[tuple[str, str, dict | None]]:
    salt = os.urandom(16)
    argon_salt = "pepper-and-salt"
    cases: list[tuple[str, str, dict | None]] = [
        ("bcrypt", bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode(), None),
        ("bcrypt", "$2y$" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()[4:], None),
        ("phpass", phpass.using(rounds=8).hash(PASSWORD), None),
        ("scrypt", passlib_scrypt.using(rounds=8).hash(PASSWORD), None),
        (
            "scrypt",
            b64(hashlib.scrypt(PASSWORD.encode(), salt=salt, n=1024, r=8, p=1, dklen=32)),
            {"salt": b64(salt), "n_parameter": 1024, "r_parameter": 8, "p_parameter": 1, "key_length": 32},
        ),
        (
            "pbkdf_2",
            b64(hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 1000, 32)),
            {"salt": b64(salt), "iteration_amount": 1000, "key_length": 32, "algorithm": "sha256"},
        ),
        (
            "pbkdf_2",
            b64(hashlib.pbkdf2_hmac("sha512", PASSWORD.encode(), salt, 1000, 64)),
            {"salt": b64(salt), "iteration_amount": 1000, "key_length": 64, "algorithm": "sha512"},
        ),
        ("md_5", hashlib.md5(PASSWORD.encode()).hexdigest(), None),
        (
            "sha_1",
            hashlib.sha1(("pre" + PASSWORD + "post").encode()).hexdigest(),
            {"prepend_salt": "pre", "append_salt": "post"},
        ),
        (
            "sha_512",
            hashlib.sha512((PASSWORD + "tail").encode()).hexdigest(),
            {"prepend_salt": "", "append_salt": "tail"},
        ),
    ]
    for kind, name in ((argon2.Type.I, "argon_2i"), (argon2.Type.ID, "argon_2id")):
        cases.append((name, argon2.PasswordHasher(time_cost=1, memory_cost=1024, type=kind).hash(PASSWORD), None))
        raw = argon2.low_level.hash_secret_raw(
            PASSWORD.encode(), argon_salt.encode(), time_cost=1, memory_cost=1024, parallelism=1, hash_len=32, type=kind
        )
        config = {"salt": argon_salt, "iteration_amount": 1, "memory": 1024, "threads": 1, "key_length": 32}
        cases.append((name, raw.hex(), config))
    return cases


@pytest.mark.parametrize("case", made_elsewhere(), ids=lambda c: c[0])
def test_every_migrate_type_verifies_the_right_password_only(case):
    hash_type, stored, config = case
    assert hashing.check_migrated(hash_type, stored, config) is None
    assert hashing.verify(hash_type, stored, config, PASSWORD) is True
    assert hashing.verify(hash_type, stored, config, PASSWORD + "x") is False
    assert hashing.needs_rehash(hash_type, stored) is True


@pytest.mark.parametrize(
    ("hash_type", "stored", "config"),
    [
        ("bcrypt", "not-a-bcrypt-hash", None),
        ("md_5", "abc", None),
        ("sha_1", "zz" * 20, None),
        ("argon_2id", "00ff", {}),
        (
            "scrypt",
            b64(b"x" * 32),
            {"salt": b64(b"s"), "n_parameter": 1000, "r_parameter": 8, "p_parameter": 1, "key_length": 32},
        ),
        ("pbkdf_2", b64(b"x" * 32), {"salt": b64(b"s"), "iteration_amount": 10, "key_length": 32, "algorithm": "md5"}),
        ("phpass", "$P$short", None),
        ("bcrypt", "$2b$20$" + "a" * 53, None),
        ("phpass", "$P$Z" + "a" * 30, None),
        ("pbkdf_2", b64(b"x" * 32), {"salt": b64(b"s"), "iteration_amount": 10**9, "key_length": 32}),
        (
            "scrypt",
            b64(b"x" * 32),
            {"salt": b64(b"s"), "n_parameter": 1024, "r_parameter": 8, "p_parameter": 1000, "key_length": 32},
        ),
        ("argon_2id", "00" * 32, {"salt": "s", "iteration_amount": 1, "memory": 2**30, "threads": 1, "key_length": 32}),
        ("argon_2i", "00" * 32, {"salt": "s", "iteration_amount": 1, "memory": 1024, "threads": 1, "key_length": 16}),
        ("rot13", "abc", None),
    ],
)
def test_a_malformed_migrated_hash_is_refused_with_a_reason(hash_type, stored, config):
    assert hashing.check_migrated(hash_type, stored, config)
    assert hashing.verify(hash_type, stored, config, PASSWORD) is False


def test_new_hashes_are_argon2id_at_owasps_parameters():
    stored = hashing.hash_new(PASSWORD)
    params = argon2.extract_parameters(stored)
    assert (params.type, params.memory_cost, params.time_cost, params.parallelism) == (argon2.Type.ID, 19456, 2, 1)
    assert hashing.verify(hashing.NATIVE, stored, None, PASSWORD)
    assert not hashing.verify(hashing.NATIVE, stored, None, "wrong")
    assert not hashing.needs_rehash(hashing.NATIVE, stored)
    weaker = argon2.PasswordHasher(time_cost=1, memory_cost=1024).hash(PASSWORD)
    assert hashing.needs_rehash(hashing.NATIVE, weaker)


def test_bcrypt_reads_72_bytes_as_the_system_that_made_it():
    long = "x" * 100
    stored = bcrypt.hashpw(long[:72].encode(), bcrypt.gensalt(4)).decode()
    assert hashing.verify("bcrypt", stored, None, long)
