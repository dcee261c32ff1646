"""core/outbound.py: the requests keystile makes to addresses an admin names (an IdP's
discovery document, JWKS, token and userinfo endpoints) refuse loopback, private and
link-local addresses and plain http in production unless the operator allows them, stop at
the size cap, and follow no redirect."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from keystile.config import Settings
from keystile.core import outbound
from keystile.core.outbound import OutboundError


def production(**overrides: object) -> Settings:
    return Settings(env="production", data_dir=Path("/nonexistent"), **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/.well-known/openid-configuration",
        "https://10.1.2.3/jwks",
        "https://192.168.0.10/token",
        "https://169.254.169.254/latest/meta-data",  # a cloud metadata service
        "https://[::1]/userinfo",
        "https://[::ffff:127.0.0.1]/userinfo",
        "https://localhost/jwks",
        "http://idp.example.com/.well-known/openid-configuration",  # plain http
        "ftp://idp.example.com/",
    ],
)
def test_production_refuses_non_public_addresses_and_plain_http(url):
    with pytest.raises(OutboundError):
        asyncio.run(outbound.check_url(production(), url))


def test_the_operator_may_allow_private_addresses():
    asyncio.run(outbound.check_url(production(outbound_private_addresses=True), "http://127.0.0.1:9/x"))
    asyncio.run(outbound.check_url(Settings(env="dev"), "http://127.0.0.1:9/x"))  # dev allows them


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/big":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"[" + b"0," * 700_000 + b"0]")
        else:
            self.send_response(302)
            self.send_header("Location", "/big")
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_answer_past_the_size_cap_is_refused(local_server):
    with pytest.raises(OutboundError, match="more than"):
        asyncio.run(outbound.get_json(Settings(env="dev"), f"{local_server}/big"))


def test_a_redirect_is_not_followed(local_server):
    with pytest.raises(OutboundError, match="answered 302"):
        asyncio.run(outbound.get_json(Settings(env="dev"), f"{local_server}/elsewhere"))
