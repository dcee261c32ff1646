"""A local server that speaks Have I Been Pwned's Pwned Passwords range API, for the breach
tests (haveibeenpwned.com/API/v3#SearchingPwnedPasswordsByRange).

`GET /range/{first 5 hex characters of a SHA-1}` answers `200 text/plain`, one line per known
hash with that prefix: the other 35 characters, a colon and how often it was seen; with the
`Add-Padding: true` header, padding lines of count 0 follow. A malformed prefix is 400. It
records every path asked, so a test can check that only a prefix left keystile; `delay` makes
every answer late (a timeout), `failing` makes them 503.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest().upper()


class FakePwnedPasswords:
    """Run with `with FakePwnedPasswords({"hunter2-but-longer": 42}) as pwned:`; `pwned.url`."""

    def __init__(self, breached: dict[str, int] | None = None) -> None:
        self.counts: dict[str, int] = {sha1_hex(p): n for p, n in (breached or {}).items()}
        self.asked: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.delay = 0.0
        self.failing = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.asked.append(self.path)
                fake.headers.append(dict(self.headers.items()))
                if fake.delay:
                    time.sleep(fake.delay)
                found = re.fullmatch(r"/range/([0-9A-Fa-f]{5})", self.path)
                if fake.failing or not found:
                    status = 503 if fake.failing else 400
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                prefix = found.group(1).upper()
                lines = [f"{h[5:]}:{n}" for h, n in fake.counts.items() if h.startswith(prefix)]
                if self.headers.get("Add-Padding") == "true":
                    lines += [f"{secrets.token_hex(18)[:35].upper()}:0" for _ in range(5)]
                body = "\r\n".join(lines).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # keystile gave up waiting (the timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-pwned")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, password: str, count: int = 1) -> None:
        self.counts[sha1_hex(password)] = count

    def __enter__(self) -> FakePwnedPasswords:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
