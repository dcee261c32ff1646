"""Per-project RS256 signing keys: made once, stored encrypted, parsed once per process.

Parsing a PEM costs tens of milliseconds and signing a fraction of one, so the keyring
keeps parsed keys in memory; the JWKS and the current key are read from the database so
that a key made by another process (the CLI, another worker) is seen at once.

Rotation (`keystile keys rotate`) is scheduled so that apps verifying JWTs locally never
see a failure:
1. the new key is published (JWKS) at once, but signs only from `created_at`, which the
   rotation sets `ACTIVATION_DELAY` ahead — long enough for every JWKS cache (our
   Cache-Control, PyJWT's and jose's 30-second refetch cooldown) to have picked it up;
2. at that moment the old key gets its `retired_at` and stops signing, in every process
   at once (the signing key is read from the database on every mint);
3. it stays published and trusted for `RETIRED_KEY_WINDOW` — the lifetime of the last
   JWT it signed plus a margin for skewed clocks and slow requests — and then leaves.
A key's `created_at` is therefore "signs from", `retired_at` "signs until".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509 import (
    CertificateBuilder,
    Name,
    NameAttribute,
    random_serial_number,
)
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import Select, and_, bindparam, insert, or_, select, update

from keystile.core import ids
from keystile.core.clock import Clock, as_utc
from keystile.core.db import Connection, Query
from keystile.models.projects import signing_keys

# Session JWTs live five minutes (sessions/jwts.py); a retired key stays trusted that long
# after it stopped signing, plus a margin for skewed clocks and slow requests.
JWT_LIFETIME = timedelta(minutes=5)
RETIREMENT_MARGIN = timedelta(minutes=5)
RETIRED_KEY_WINDOW = JWT_LIFETIME + RETIREMENT_MARGIN
# The JWKS is served with max-age=300 and stale-while-revalidate=60 (routes_jwks.py).
ACTIVATION_DELAY = timedelta(minutes=6)
MIN_PRODUCTION_MASTER_KEY = 32


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class MasterKey:
    """AES-256-GCM over the private key PEM; the key comes from KEYSTILE_MASTER_KEY.

    Keyed hashes (`digest`) use a second key derived from the same secret under another
    label, so the encryption key itself never serves as an HMAC key."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"keystile-signing-keys\0" + secret.encode()).digest())
        self._digest_key = hashlib.sha256(b"keystile-digests\0" + secret.encode()).digest()

    def digest(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of `value` bound to `purpose`, hex: for a low-entropy secret that is only
        ever compared (a 6-digit passcode), so that a copy of the database without the master
        key cannot search its few values offline."""
        message = purpose.encode() + b"\0" + value.encode()
        return hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: bytes) -> str:
        nonce = os.urandom(12)
        return "v1:" + _b64url(nonce + self._aead.encrypt(nonce, plaintext, None))

    def decrypt(self, stored: str) -> bytes:
        version, _, body = stored.partition(":")
        if version != "v1":
            raise ValueError("unknown signing key encoding")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return self._aead.decrypt(raw[:12], raw[12:], None)

    def seal(self, purpose: str, plaintext: str) -> str:
        """Encrypt another secret that must be read back (a TOTP secret, a recovery code), bound
        to `purpose` (its kind and owner) as associated data: a stored value copied to another
        row or kind does not decrypt."""
        nonce = os.urandom(12)
        return "v1:" + _b64url(nonce + self._aead.encrypt(nonce, plaintext.encode(), purpose.encode()))

    def unseal(self, purpose: str, stored: str) -> str:
        version, _, body = stored.partition(":")
        if version != "v1":
            raise ValueError("unknown sealed value encoding")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return self._aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()

    @classmethod
    def from_settings(cls, settings: Any) -> MasterKey:
        """KEYSTILE_MASTER_KEY; in dev mode without one, a key file beside the database.

        In production keystile never makes a key up: a generated file would differ
        between machines and vanish with a container, leaving signing keys unreadable.
        """
        if settings.master_key is not None:
            secret = settings.master_key.get_secret_value()
            if not settings.dev and len(secret) < MIN_PRODUCTION_MASTER_KEY:
                raise MasterKeyMissing(
                    f"KEYSTILE_MASTER_KEY is shorter than {MIN_PRODUCTION_MASTER_KEY} characters. "
                    "Generate one with `keystile keys generate-master-key`."
                )
            return cls(secret)
        if not settings.dev:
            raise MasterKeyMissing(
                "KEYSTILE_MASTER_KEY is not set. In production (KEYSTILE_ENV=production) keystile "
                "encrypts signing keys with it and will not generate one: create it once with "
                "`keystile keys generate-master-key`, keep it in your secret store, and give every "
                "keystile process the same value."
            )
        return cls.from_file(settings.data_dir / "master.key")

    @classmethod
    def from_file(cls, path: Path) -> MasterKey:
        """The dev-mode master key: made on first start, kept beside the database."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(new_master_key())
        return cls(path.read_text().strip())


def signs_at(now: datetime) -> Any:
    """The SQL condition "this key signs at `now`": started, and not yet retired."""
    return and_(
        signing_keys.c.created_at <= now,
        or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now),
    )


def published_at(now: datetime) -> Any:
    """The SQL condition "this key is in the JWKS and trusted at `now`"."""
    return or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now - RETIRED_KEY_WINDOW)


class MasterKeyMissing(RuntimeError):
    """Production mode without a usable KEYSTILE_MASTER_KEY; the message says what to do."""


class MasterKeyMismatch(RuntimeError):
    """The master key does not decrypt the signing keys stored in the database."""


def new_master_key() -> str:
    return _b64url(os.urandom(32))


def _public_jwk(kid: str, key: rsa.RSAPrivateKey, now: datetime) -> dict[str, Any]:
    public = key.public_key()
    subject = Name([NameAttribute(NameOID.COMMON_NAME, kid)])
    cert = (
        CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 10))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    numbers = public.public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "key_ops": ["verify"],
        "alg": "RS256",
        "kid": kid,
        "x5c": [base64.b64encode(der).decode()],
        "x5tS256": _b64url(hashlib.sha256(der).digest()),
        "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
    }


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey


def new_signing_key() -> rsa.RSAPrivateKey:
    """A fresh 2,048-bit RSA key (tens of milliseconds): every project and rotation gets one."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Keyring:
    def __init__(
        self, master: MasterKey, clock: Clock | None = None, new_key: Callable[[], rsa.RSAPrivateKey] | None = None
    ) -> None:
        self.master = master
        self.clock = clock or Clock()
        # Where new keys come from; a test suite that makes thousands of projects passes a
        # source that deals keys made once per run.
        self.new_key = new_key or new_signing_key
        self._parsed: dict[str, SigningKey] = {}
        self._public: dict[str, Any] = {}

    async def create(self, conn: Connection, project_id: str, live: bool, now: datetime) -> str:
        """Make a new key for a project; it signs from `now` (a rotation passes a later time)."""
        key = self.new_key()
        kid = ids.jwk_id(live)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        await conn.execute(
            insert(signing_keys).values(
                kid=kid,
                project_id=project_id,
                private_key=self.master.encrypt(pem),
                public_jwk=_public_jwk(kid, key, now),
                created_at=now,
            )
        )
        self._parsed[kid] = SigningKey(kid, key)
        return kid

    async def current(self, conn: Connection, project_id: str, now: datetime | None = None) -> SigningKey:
        """The key that signs at `now` (default: the keyring's clock)."""
        row = (
            await conn.execute(
                select(signing_keys.c.kid, signing_keys.c.private_key)
                .where(signing_keys.c.project_id == project_id, signs_at(now or self.clock.now()))
                .order_by(signing_keys.c.created_at.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            raise LookupError(f"project {project_id} has no signing key")
        cached = self._parsed.get(row.kid)
        if cached is None:
            key = serialization.load_pem_private_key(self.master.decrypt(row.private_key), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            cached = self._parsed[row.kid] = SigningKey(row.kid, key)
        return cached

    async def jwks(self, conn: Connection, project_id: str, now: datetime) -> list[dict[str, Any]]:
        """The published keys: the signing one and those retired less than the window ago."""
        rows = await conn.execute(
            select(signing_keys.c.public_jwk)
            .where(
                signing_keys.c.project_id == project_id,
                published_at(now),
            )
            .order_by(signing_keys.c.created_at.desc())
        )
        return [row.public_jwk for row in rows]

    async def public_key(self, conn: Connection, project_id: str, kid: str, now: datetime | None = None) -> Any | None:
        """The verification key for `kid`, if it belongs to the project and is still
        published at `now` (a key retired longer than the window ago is no longer trusted)."""
        row = (
            await conn.execute(
                select(signing_keys.c.public_jwk, signing_keys.c.retired_at).where(
                    signing_keys.c.project_id == project_id, signing_keys.c.kid == kid
                )
            )
        ).first()
        if row is None:
            return None
        if now is not None and row.retired_at is not None and as_utc(row.retired_at) <= now - RETIRED_KEY_WINDOW:
            return None
        cache_key = f"{project_id}/{kid}"
        key = self._public.get(cache_key)
        if key is None:
            key = self._public[cache_key] = RSAAlgorithm.from_jwk(row.public_jwk)
        return key

    async def rotate(
        self,
        conn: Connection,
        project_id: str,
        live: bool,
        now: datetime,
        *,
        delay: timedelta = ACTIVATION_DELAY,
        immediately: bool = False,
    ) -> tuple[str, datetime, list[str]]:
        """Publish a new key that signs from `now + delay`; the keys signing until then
        retire at that moment and stay published for RETIRED_KEY_WINDOW after it.

        `immediately` (a leaked key): the new key signs now and the old ones are
        unpublished at once, so the JWTs they signed stop verifying, locally and on the
        server. Returns (new kid, when it starts signing, the kids it retires).
        """
        activates_at = now if immediately else now + max(delay, timedelta(0))
        retired = [
            row.kid
            for row in await conn.execute(
                select(signing_keys.c.kid).where(
                    signing_keys.c.project_id == project_id, signing_keys.c.retired_at.is_(None)
                )
            )
        ]
        retired_at = now - RETIRED_KEY_WINDOW if immediately else activates_at
        await conn.execute(
            update(signing_keys)
            .where(signing_keys.c.project_id == project_id, signing_keys.c.retired_at.is_(None))
            .values(retired_at=retired_at)
        )
        if immediately:
            # Keys retired earlier whose window is still open go too.
            await conn.execute(
                update(signing_keys)
                .where(signing_keys.c.project_id == project_id, signing_keys.c.retired_at > retired_at)
                .values(retired_at=retired_at)
            )
        kid = await self.create(conn, project_id, live, activates_at)
        return kid, activates_at, retired

    async def list_keys(self, conn: Connection, project_id: str, now: datetime) -> list[dict[str, Any]]:
        """Every key of the project, newest first, with its state: signing, published or retired."""
        rows = await conn.execute(
            select(signing_keys.c.kid, signing_keys.c.created_at, signing_keys.c.retired_at)
            .where(signing_keys.c.project_id == project_id)
            .order_by(signing_keys.c.created_at.desc())
        )
        listed = []
        for row in rows:
            retired_at = as_utc(row.retired_at) if row.retired_at is not None else None
            unpublished_at = retired_at + RETIRED_KEY_WINDOW if retired_at is not None else None
            if as_utc(row.created_at) > now:
                state = "next"
            elif retired_at is None or unpublished_at is None or retired_at > now:
                state = "signing"
            else:
                state = "published" if unpublished_at > now else "retired"
            listed.append(
                {
                    "kid": row.kid,
                    "state": state,
                    "signs_from": as_utc(row.created_at),
                    "retired_at": retired_at,
                    "unpublished_at": unpublished_at,
                }
            )
        return listed

    async def check_master_key(self, conn: Connection) -> None:
        """Decrypt one stored key, so a wrong KEYSTILE_MASTER_KEY fails at start, not at the first login."""
        row = (await conn.execute(select(signing_keys.c.kid, signing_keys.c.private_key).limit(1))).first()
        if row is None:
            return
        try:
            self.master.decrypt(row.private_key)
        except (InvalidTag, ValueError):
            raise MasterKeyMismatch(
                "KEYSTILE_MASTER_KEY does not decrypt the signing keys in this database: every "
                "keystile process must use the master key the keys were created with."
            ) from None


# --- Read-path statements for session JWTs (sessions/jwts.py, sessions/repository.py) ---


def _current_kid() -> Select[Any]:
    return (
        select(signing_keys.c.kid)
        .where(signing_keys.c.project_id == bindparam("project_id"), signing_keys.c.retired_at.is_(None))
        .order_by(signing_keys.c.created_at.desc())
        .limit(1)
    )


def current_kid_column() -> Any:
    """The project's signing kid as a column `signing_kid`, to read along with a session."""
    return _current_kid().scalar_subquery().label("signing_kid")


def _named_key() -> tuple[Any, ...]:
    return (signing_keys.c.project_id == bindparam("project_id"), signing_keys.c.kid == bindparam("kid"))


def named_key_columns() -> tuple[Any, Any]:
    """The public key named by `:kid` as columns `jwt_public_jwk` and `jwt_key_retired_at`,
    to read along with the session a JWT names (NULL when the project has no such key)."""
    return (
        select(signing_keys.c.public_jwk).where(*_named_key()).scalar_subquery().label("jwt_public_jwk"),
        select(signing_keys.c.retired_at).where(*_named_key()).scalar_subquery().label("jwt_key_retired_at"),
    )


CURRENT_KID = Query(_current_kid())
PUBLIC_KEY = Query(select(signing_keys.c.public_jwk, signing_keys.c.retired_at).where(*_named_key()))
