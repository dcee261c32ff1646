"""Password hashes: keystile's own (argon2id) and every type passwords.migrate accepts.

New passwords are hashed with argon2id (argon2-cffi) at OWASP's current minimum for Argon2id
(Password Storage Cheat Sheet: 19 MiB of memory, 2 iterations, 1 degree of parallelism), a
16-byte random salt and a 32-byte hash, written as the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).

A migrated hash keeps Stytch's `hash_type` as its scheme and is checked as that type
(`verify`); the service re-hashes the password with argon2id at its first successful login.

Hashing costs tens of milliseconds of CPU, so it never runs on the event loop: `run` hands it
to a pool of threads of its own (argon2-cffi, bcrypt and hashlib release the GIL while they
hash), as many as the machine has CPUs unless `KEYSTILE_PASSWORD_HASH_THREADS` says otherwise.
A burst of logins waits for a thread; the event loop keeps serving every other request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import argon2
import bcrypt
from argon2.low_level import Type, hash_secret_raw

# OWASP's Argon2id minimum (m=19 MiB, t=2, p=1).
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
ARGON2_HASH_LEN = 32
ARGON2_SALT_LEN = 16

NATIVE = "argon2id"  # the scheme of keystile's own hashes
# Stytch's `hash_type` values (PY `consumer/models/passwords.py` MigrateRequestHashType).
MIGRATE_TYPES = ("bcrypt", "md_5", "argon_2i", "argon_2id", "sha_1", "sha_512", "scrypt", "phpass", "pbkdf_2")
# The request field holding each type's config, where it has one.
CONFIG_FIELDS = {
    "md_5": "md_5_config",
    "argon_2i": "argon_2_config",
    "argon_2id": "argon_2_config",
    "sha_1": "sha_1_config",
    "sha_512": "sha_512_config",
    "scrypt": "scrypt_config",
    "pbkdf_2": "pbkdf_2_config",
}

_hasher = argon2.PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=ARGON2_HASH_LEN,
    salt_len=ARGON2_SALT_LEN,
    type=Type.ID,
)
# Verifies any PHC-encoded argon2 hash whatever its parameters (argon2i or argon2id).
_any_argon2 = argon2.PasswordHasher()

T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def configure(threads: int) -> None:
    """How many hashes run at once in this process (0: one per CPU). The first call sets
    it (the service calls it with KEYSTILE_PASSWORD_HASH_THREADS); later ones change nothing."""
    global _pool_size
    if not _pool_size:
        _pool_size = threads or os.cpu_count() or 2


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_pool_size or os.cpu_count() or 2, thread_name_prefix="keystile-hash")
    return _pool


async def run(func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` on the hashing threads, awaited without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), func, *args)


# --- keystile's own hashes ---


def hash_new(password: str) -> str:
    """An argon2id PHC string of `password` (blocking: call through `run`)."""
    return _hasher.hash(password)


def needs_rehash(scheme: str, stored: str) -> bool:
    """Whether a stored hash should be replaced by a new argon2id one at this login."""
    return scheme != NATIVE or _hasher.check_needs_rehash(stored)


_DUMMY: str | None = None


def dummy_hash() -> str:
    """A hash of a random secret with today's parameters: what an unknown account's
    login is checked against, so it costs what a wrong password costs."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _hasher.hash(base64.b64encode(os.urandom(24)).decode())
    return _DUMMY


# --- verification (blocking: call through `run`) ---


def verify(scheme: str, stored: str, config: Mapping[str, Any] | None, password: str) -> bool:
    """Whether `password` matches a stored hash of `scheme` (NATIVE or a migrate type)."""
    check = _VERIFIERS.get(scheme)
    if check is None:
        return False
    if scheme != NATIVE and check_migrated(scheme, stored, config) is not None:
        return False  # malformed, or costlier than any login should be
    try:
        return check(stored, config or {}, password.encode())
    except (ValueError, TypeError, KeyError, binascii.Error, argon2.exceptions.VerificationError):
        return False
    except argon2.exceptions.InvalidHashError:
        return False


def _native(stored: str, _config: Mapping[str, Any], password: bytes) -> bool:
    try:
        return _hasher.verify(stored, password)
    except argon2.exceptions.VerifyMismatchError:
        return False


def _bcrypt(stored: str, _config: Mapping[str, Any], password: bytes) -> bool:
    # bcrypt reads only the first 72 bytes; the system that made the hash did too.
    return bcrypt.checkpw(password[:72], _bcrypt_form(stored).encode())


def _bcrypt_form(stored: str) -> str:
    # PHP writes $2y$, which is $2b$ under another name.
    return "$2b$" + stored[4:] if stored.startswith("$2y$") else stored


def _argon2(kind: Type) -> Callable[[str, Mapping[str, Any], bytes], bool]:
    def check(stored: str, config: Mapping[str, Any], password: bytes) -> bool:
        if stored.startswith("$argon2"):
            try:
                return _any_argon2.verify(stored, password)
            except argon2.exceptions.VerifyMismatchError:
                return False
        # The hex form: the parameters come from argon_2_config.
        expected = bytes.fromhex(stored)
        derived = hash_secret_raw(
            password,
            str(config["salt"]).encode(),
            time_cost=int(config["iteration_amount"]),
            memory_cost=int(config["memory"]),
            parallelism=int(config["threads"]),
            hash_len=int(config["key_length"]),
            type=kind,
        )
        return hmac.compare_digest(derived, expected)

    return check


def b64decode(text: str) -> bytes:
    """Standard, URL-safe or passlib's `.`-for-`+` base64, padded or not."""
    cleaned = text.strip().replace("-", "+").replace("_", "/").replace(".", "+")
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)


_PHC_SCRYPT = re.compile(r"\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)")


def _scrypt_params(stored: str, config: Mapping[str, Any]) -> tuple[bytes, int, int, int, bytes]:
    """(salt, n, r, p, expected hash) of a PHC-encoded scrypt hash or a base64 one with scrypt_config."""
    found = _PHC_SCRYPT.fullmatch(stored.strip())
    if found:
        ln, r, p, salt, expected = found.groups()
        return b64decode(salt), 2 ** int(ln), int(r), int(p), b64decode(expected)
    expected = b64decode(stored)
    n = int(config["n_parameter"])
    if n < 2 or n > 262_144 or n & (n - 1):
        raise ValueError("n_parameter must be a power of two from 2 to 262,144")
    return b64decode(str(config["salt"])), n, int(config["r_parameter"]), int(config["p_parameter"]), expected


def _scrypt(stored: str, config: Mapping[str, Any], password: bytes) -> bool:
    salt, n, r, p, expected = _scrypt_params(stored, config)
    if (
        "key_length" in config
        and not _PHC_SCRYPT.fullmatch(stored.strip())
        and int(config["key_length"]) != len(expected)
    ):
        return False
    derived = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=2**30)
    return hmac.compare_digest(derived, expected)


def _pbkdf2(stored: str, config: Mapping[str, Any], password: bytes) -> bool:
    algorithm = str(config.get("algorithm") or "sha256").lower().replace("-", "")
    if algorithm not in ("sha256", "sha512"):
        raise ValueError("algorithm must be sha256 or sha512")
    expected = b64decode(stored)
    derived = hashlib.pbkdf2_hmac(
        algorithm, password, b64decode(str(config["salt"])), int(config["iteration_amount"]), len(expected)
    )
    return hmac.compare_digest(derived, expected)


def _salted(algorithm: str) -> Callable[[str, Mapping[str, Any], bytes], bool]:
    def check(stored: str, config: Mapping[str, Any], password: bytes) -> bool:
        before = str(config.get("prepend_salt") or "").encode()
        after = str(config.get("append_salt") or "").encode()
        derived = hashlib.new(algorithm, before + password + after).digest()
        return hmac.compare_digest(derived, bytes.fromhex(stored.strip()))

    return check


_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _phpass_encode(raw: bytes) -> str:
    """phpass's own base64 (least significant bits first)."""
    out, i = [], 0
    while i < len(raw):
        value = raw[i]
        i += 1
        out.append(_ITOA64[value & 0x3F])
        if i < len(raw):
            value |= raw[i] << 8
        out.append(_ITOA64[(value >> 6) & 0x3F])
        if i >= len(raw):
            break
        i += 1
        if i < len(raw):
            value |= raw[i] << 16
        out.append(_ITOA64[(value >> 12) & 0x3F])
        if i >= len(raw):
            break
        i += 1
        out.append(_ITOA64[(value >> 18) & 0x3F])
    return "".join(out)


def _phpass(stored: str, _config: Mapping[str, Any], password: bytes) -> bool:
    """The portable phpass hash (WordPress, phpBB): `$P$` or `$H$`, a cost letter, 8 salt characters."""
    if stored[:3] not in ("$P$", "$H$") or len(stored) != 34:
        return False
    count_log2 = _ITOA64.index(stored[3])
    if not 7 <= count_log2 <= 30:
        return False
    salt = stored[4:12].encode()
    digest = hashlib.md5(salt + password).digest()  # the legacy format being verified
    for _ in range(1 << count_log2):
        digest = hashlib.md5(digest + password).digest()
    return hmac.compare_digest((stored[:12] + _phpass_encode(digest)).encode(), stored.encode())


_VERIFIERS: dict[str, Callable[[str, Mapping[str, Any], bytes], bool]] = {
    NATIVE: _native,
    "bcrypt": _bcrypt,
    "argon_2i": _argon2(Type.I),
    "argon_2id": _argon2(Type.ID),
    "scrypt": _scrypt,
    "pbkdf_2": _pbkdf2,
    "md_5": _salted("md5"),
    "sha_1": _salted("sha1"),
    "sha_512": _salted("sha512"),
    "phpass": _phpass,
}


def check_migrated(hash_type: str, stored: str, config: Mapping[str, Any] | None) -> str | None:
    """Why a hash handed to passwords.migrate cannot be of its type, or None when it can."""
    config = config or {}
    try:
        if hash_type == "bcrypt":
            form = _bcrypt_form(stored)
            if not re.fullmatch(r"\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}", form):
                return "a bcrypt hash looks like $2b$12$ followed by 53 characters"
        elif hash_type in ("argon_2i", "argon_2id"):
            if stored.startswith("$argon2"):
                argon2.extract_parameters(stored)
            else:
                bytes.fromhex(stored)
                for key in ("salt", "iteration_amount", "memory", "threads", "key_length"):
                    if config.get(key) in (None, ""):
                        return f"the hex form of an argon2 hash needs argon_2_config.{key}"
        elif hash_type == "scrypt":
            if not _PHC_SCRYPT.fullmatch(stored.strip()):
                for key in ("salt", "n_parameter", "r_parameter", "p_parameter", "key_length"):
                    if config.get(key) in (None, ""):
                        return f"a scrypt hash not in PHC form needs scrypt_config.{key}"
            _scrypt_params(stored, config)
        elif hash_type == "pbkdf_2":
            for key in ("salt", "iteration_amount", "key_length"):
                if config.get(key) in (None, ""):
                    return f"a PBKDF2 hash needs pbkdf_2_config.{key}"
            if str(config.get("algorithm") or "sha256").lower().replace("-", "") not in ("sha256", "sha512"):
                return "pbkdf_2_config.algorithm must be sha256 or sha512"
            b64decode(stored)
            b64decode(str(config["salt"]))
        elif hash_type in ("md_5", "sha_1", "sha_512"):
            size = {"md_5": 16, "sha_1": 20, "sha_512": 64}[hash_type]
            if len(bytes.fromhex(stored.strip())) != size:
                return f"a {hash_type} hash is {size * 2} hexadecimal characters"
        elif hash_type == "phpass":
            if stored[:3] not in ("$P$", "$H$") or len(stored) != 34 or stored[3] not in _ITOA64:
                return "a phpass hash looks like $P$ followed by 31 characters"
        else:
            return f"hash_type must be one of {', '.join(MIGRATE_TYPES)}"
        return _too_costly(hash_type, stored, config)
    except (ValueError, TypeError, binascii.Error, argon2.exceptions.InvalidHashError):
        return f"the hash is not a valid {hash_type} hash"


# The costliest parameters a migrated hash may ask of every login (each far above what real
# systems use): a hash beyond them would let one imported record stall the hashing threads.
MAX_BCRYPT_COST = 16
MAX_PHPASS_LOG2 = 20
MAX_ARGON2_MEMORY_KIB = 1024 * 1024
MAX_ARGON2_TIME = 64
MAX_PARALLELISM = 16
MAX_SCRYPT_BYTES = 1024**3
MAX_PBKDF2_ITERATIONS = 10_000_000
MAX_KEY_LENGTH = 512


def _too_costly(hash_type: str, stored: str, config: Mapping[str, Any]) -> str | None:
    if hash_type == "bcrypt" and int(_bcrypt_form(stored)[4:6]) > MAX_BCRYPT_COST:
        return f"a bcrypt cost above {MAX_BCRYPT_COST} is refused"
    if hash_type == "phpass" and _ITOA64.index(stored[3]) > MAX_PHPASS_LOG2:
        return f"a phpass cost above 2^{MAX_PHPASS_LOG2} is refused"
    if hash_type in ("argon_2i", "argon_2id"):
        if stored.startswith("$argon2"):
            params = argon2.extract_parameters(stored)
            memory, time_cost, threads = params.memory_cost, params.time_cost, params.parallelism
        else:
            memory, time_cost, threads = (int(config[k]) for k in ("memory", "iteration_amount", "threads"))
            if int(config["key_length"]) != len(bytes.fromhex(stored)):
                return "argon_2_config.key_length does not match the length of the hash"
        if not (
            0 < memory <= MAX_ARGON2_MEMORY_KIB and 0 < time_cost <= MAX_ARGON2_TIME and 0 < threads <= MAX_PARALLELISM
        ):
            return "argon2 parameters above 1 GiB of memory, 64 iterations or 16 threads are refused"
    if hash_type == "scrypt":
        _, n, r, p, expected = _scrypt_params(stored, config)
        if not (0 < r <= 32 and 0 < p <= MAX_PARALLELISM and 128 * n * r <= MAX_SCRYPT_BYTES):
            return "scrypt parameters above 1 GiB of memory or 16 for p are refused"
        if len(expected) > MAX_KEY_LENGTH:
            return f"a key longer than {MAX_KEY_LENGTH} bytes is refused"
    if hash_type == "pbkdf_2":
        if not 0 < int(config["iteration_amount"]) <= MAX_PBKDF2_ITERATIONS:
            return f"pbkdf_2_config.iteration_amount must be from 1 to {MAX_PBKDF2_ITERATIONS:,}"
        if not 0 < int(config["key_length"]) <= MAX_KEY_LENGTH:
            return f"pbkdf_2_config.key_length must be from 1 to {MAX_KEY_LENGTH}"
    return None
