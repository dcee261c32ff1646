"""What a process remembers of session JWTs: the JWT it minted last per session (reused
until close to expiry, as RS256 signing costs far more than verifying), the JWTs whose
signature it checked, and parsed public keys (ADR 0009). Shared by the process (AppState);
sessions/jwts.py fills and reads it."""

from __future__ import annotations

import hmac
from collections import OrderedDict
from typing import Any

from jwt.algorithms import RSAAlgorithm

REUSE_MARGIN_SECONDS = 60


class JWTCache:
    """Per process, bounded: session_id → (fingerprint, jwt, exp, iat) of the JWT minted last,
    session_id → the JWT whose signature was checked last, and the parsed public keys."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[bytes, str, int, int]] = OrderedDict()
        self._verified: OrderedDict[str, str] = OrderedDict()
        self._public: dict[str, Any] = {}

    def get(self, session_id: str, fingerprint: bytes, now: int) -> str | None:
        """The JWT minted last for the session, if it has more than the margin to live and
        was not issued after `now` (a test project's clock put back: clock/service.py)."""
        item = self._items.get(session_id)
        if item and item[0] == fingerprint and item[2] - now > REUSE_MARGIN_SECONDS and item[3] <= now:
            return item[1]
        return None

    def put(self, session_id: str, fingerprint: bytes, token: str, exp: int, iat: int) -> None:
        self._items[session_id] = (fingerprint, token, exp, iat)
        self._items.move_to_end(session_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        self.signed(session_id, token)

    def signed(self, session_id: str, token: str) -> None:
        """`token`'s signature is good: this process made it, or checked it."""
        self._verified[session_id] = token
        self._verified.move_to_end(session_id)
        while len(self._verified) > self.size:
            self._verified.popitem(last=False)

    def is_signed(self, session_id: str, token: str) -> bool:
        known = self._verified.get(session_id)
        return known is not None and hmac.compare_digest(known, token)

    def drop(self, session_id: str) -> None:
        self._items.pop(session_id, None)
        self._verified.pop(session_id, None)

    def public_key(self, kid: str, jwk: dict[str, Any]) -> Any:
        """A JWK parsed once per process (kids are unique across projects)."""
        key = self._public.get(kid)
        if key is None:
            key = self._public[kid] = RSAAlgorithm.from_jwk(jwk)
        return key
