"""Password hashes as a previous provider made them, for `passwords.migrate` and
`keystile import` lines: the tests make them with light parameters (only the format
matters there), bench/passwords.py with the costs a real deployment uses."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

HASH_TYPES = ("bcrypt", "md_5", "argon_2i", "argon_2id", "sha_1", "sha_512", "scrypt", "phpass", "pbkdf_2")


@dataclass(frozen=True)
class Costs:
    """The work factors each hash type is made with."""

    bcrypt_rounds: int
    argon2_time: int
    argon2_memory: int
    argon2i_parallelism: int
    scrypt_n: int
    phpass_rounds: int
    pbkdf2_algorithm: str
    pbkdf2_iterations: int
    pbkdf2_key_length: int


LIGHT = Costs(
    bcrypt_rounds=4,
    argon2_time=1,
    argon2_memory=1024,
    argon2i_parallelism=1,
    scrypt_n=1024,
    phpass_rounds=7,
    pbkdf2_algorithm="sha512",
    pbkdf2_iterations=1000,
    pbkdf2_key_length=64,
)
REAL = Costs(
    bcrypt_rounds=10,
    argon2_time=2,
    argon2_memory=19456,
    argon2i_parallelism=4,
    scrypt_n=16384,
    phpass_rounds=10,
    pbkdf2_algorithm="sha256",
    pbkdf2_iterations=100_000,
    pbkdf2_key_length=32,
)


def made_hash(hash_type: str, password: str, costs: Costs = LIGHT) -> dict[str, Any]:
    """The `password` object of an import line: `password` hashed as `hash_type`, by
    bcrypt, argon2-cffi, passlib or hashlib."""
    raw = password.encode()
    if hash_type == "bcrypt":
        import bcrypt

        return {"hash_type": "bcrypt", "hash": bcrypt.hashpw(raw, bcrypt.gensalt(costs.bcrypt_rounds)).decode()}
    if hash_type in ("md_5", "sha_1", "sha_512"):
        before, after = secrets.token_hex(4), secrets.token_hex(3)
        algorithm = {"md_5": "md5", "sha_1": "sha1", "sha_512": "sha512"}[hash_type]
        digest = hashlib.new(algorithm, before.encode() + raw + after.encode()).hexdigest()
        return {
            "hash_type": hash_type,
            "hash": digest,
            f"{hash_type}_config": {"prepend_salt": before, "append_salt": after},
        }
    if hash_type == "argon_2i":  # the PHC string, its parameters inside
        from argon2 import PasswordHasher, Type

        hasher = PasswordHasher(
            time_cost=costs.argon2_time,
            memory_cost=costs.argon2_memory,
            parallelism=costs.argon2i_parallelism,
            type=Type.I,
        )
        return {"hash_type": "argon_2i", "hash": hasher.hash(password)}
    if hash_type == "argon_2id":  # the raw hash in hex, its parameters in argon_2_config
        from argon2.low_level import Type, hash_secret_raw

        salt = secrets.token_hex(8)
        digest = hash_secret_raw(
            raw,
            salt.encode(),
            time_cost=costs.argon2_time,
            memory_cost=costs.argon2_memory,
            parallelism=1,
            hash_len=32,
            type=Type.ID,
        )
        config = {
            "salt": salt,
            "iteration_amount": costs.argon2_time,
            "memory": costs.argon2_memory,
            "threads": 1,
            "key_length": 32,
        }
        return {"hash_type": "argon_2id", "hash": digest.hex(), "argon_2_config": config}
    if hash_type == "scrypt":
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(raw, salt=salt, n=costs.scrypt_n, r=8, p=1, dklen=32)
        config = {
            "salt": base64.b64encode(salt).decode(),
            "n_parameter": costs.scrypt_n,
            "r_parameter": 8,
            "p_parameter": 1,
            "key_length": 32,
        }
        return {"hash_type": "scrypt", "hash": base64.b64encode(digest).decode(), "scrypt_config": config}
    if hash_type == "phpass":
        from passlib.hash import phpass

        return {"hash_type": "phpass", "hash": phpass.using(rounds=costs.phpass_rounds).hash(password)}
    if hash_type == "pbkdf_2":
        salt = secrets.token_bytes(16)
        digest = hashlib.pbkdf2_hmac(
            costs.pbkdf2_algorithm, raw, salt, costs.pbkdf2_iterations, costs.pbkdf2_key_length
        )
        config = {
            "salt": base64.b64encode(salt).decode(),
            "iteration_amount": costs.pbkdf2_iterations,
            "key_length": costs.pbkdf2_key_length,
            "algorithm": costs.pbkdf2_algorithm,
        }
        return {"hash_type": "pbkdf_2", "hash": base64.b64encode(digest).decode(), "pbkdf_2_config": config}
    raise ValueError(hash_type)
