"""The pages a person opens render in a real browser (headless Chromium) with no network but
keystile's own address: /docs draws Swagger UI from keystile's assets and the OpenAPI
document, /dev/inbox shows the mail. A blank page (a script from a CDN that never loads)
fails here: the DOM after scripts ran and the screenshot's pixels are checked."""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import requests

from tests.browser import HEADLESS_FLAGS, find_chromium
from tests.support import IN_CI, Server, free_port, make_project, start_server

CHROMIUM = find_chromium()
# Debian's chromium package; .ci/run installs it.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not IN_CI,
    reason="headless Chromium is not installed (apt-get install -y chromium); CI installs it",
)

FLAGS = [
    *HEADLESS_FLAGS,
    "--hide-scrollbars",
    "--window-size=1280,900",
    # Let the page's scripts run and fetch before the DOM is dumped or the picture taken.
    "--virtual-time-budget=15000",
    # As on a machine without internet: every name but keystile's own address fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if CHROMIUM is None:
        pytest.fail("headless Chromium is not installed; CI needs it (apt-get install -y chromium)")
    server = start_server("sqlite", tmp_path_factory.mktemp("pages"), None)
    yield server
    server.stop()


def chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{free_port()}"
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def dom_after_scripts(url: str, tmp_path: Path) -> str:
    return chromium(url, tmp_path, "--dump-dom").stdout


def screenshot(url: str, tmp_path: Path, name: str) -> Path:
    target = tmp_path / f"{name}.png"
    chromium(url, tmp_path, f"--screenshot={target}")
    assert target.exists() and target.stat().st_size > 0
    return target


def png_colours(path: Path, limit: int = 64) -> set[tuple[int, ...]]:
    """The distinct colours of an 8-bit RGB(A) PNG (Chromium's screenshots), up to `limit`."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    channels = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    previous, colours = bytearray(stride), set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        for i in range(0, stride, channels * 7):  # a sample of each row is plenty
            colours.add(tuple(line[i : i + 3]))
        if len(colours) >= limit:
            break
        previous = line
    return colours


class TestDocs:
    def test_swagger_ui_draws_the_api_without_internet(self, site: Server, tmp_path: Path):
        dom = dom_after_scripts(f"{site.base_url}docs", tmp_path)
        # Drawn by Swagger UI's script from /openapi.json: the title, an area and an operation.
        assert 'class="swagger-ui"' in dom
        assert "keystile" in dom and "B2B Sessions" in dom
        assert "/v1/b2b/sessions/authenticate" in dom
        assert "Failed to load API definition" not in dom

    def test_the_screenshot_is_not_blank(self, site: Server, tmp_path: Path):
        picture = screenshot(f"{site.base_url}docs", tmp_path, "docs")
        assert len(png_colours(picture)) > 8, "the /docs screenshot is (nearly) one colour"


class TestInbox:
    def test_the_inbox_shows_a_sent_magic_link(self, site: Server, tmp_path: Path):
        project = make_project(site)
        email = "render@acme.test"
        sent = requests.post(
            f"{site.base_url}v1/b2b/magic_links/email/discovery/send",
            json={"email_address": email},
            auth=project.auth,
            timeout=10,
        )
        assert sent.status_code == 200, sent.text
        dom = dom_after_scripts(f"{site.base_url}dev/inbox", tmp_path)
        assert "keystile dev inbox" in dom and email in dom and "stytch_token_type=discovery" in dom
        picture = screenshot(f"{site.base_url}dev/inbox", tmp_path, "inbox")
        assert len(png_colours(picture)) > 8, "the /dev/inbox screenshot is (nearly) one colour"

    def test_a_filter_that_matches_nothing_offers_to_clear_it(self, site: Server, tmp_path: Path):
        dom = dom_after_scripts(f"{site.base_url}dev/inbox?to=nobody%40nowhere.test", tmp_path)
        assert "the filter matched nothing" in dom and "Clear the filter" in dom
