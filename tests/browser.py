"""Headless Chromium driven over the Chrome DevTools Protocol (its websocket), for the few
tests that need a real browser: a page's script, cookies, Fetch Metadata and a person's click
are the browser's own, not imitated.

Only the DOM, Page and Input domains are used, so the same calls work with JavaScript off.
A click is a mouse event at the element's centre, which the browser treats as a person's
(user activation, `Sec-Fetch-User: ?1`), unlike a script's `element.click()`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection, connect

from tests.support import IN_CI

# How every test here starts Chromium: headless, as root, and with none of its own traffic
# (background networking, component updates, sync), which this closed network would refuse.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CHROMIUM_FLAGS = (*HEADLESS_FLAGS, "--remote-debugging-port=0")


def find_chromium() -> str | None:
    """The Chromium binary (Debian's `chromium` package, which .ci/run installs), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_path() -> str:
    """The Chromium binary: a test that needs it is skipped on a machine without it, and
    fails in CI."""
    path = find_chromium()
    if path:
        return path
    if IN_CI:
        pytest.fail("headless Chromium is not installed; CI needs it (apt-get install -y chromium)")
    pytest.skip("headless Chromium is not installed (apt-get install -y chromium); CI installs it")


class Page:
    """One tab, over its DevTools websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.last_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        sent = self.last_id
        self.ws.send(json.dumps({"id": sent, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == sent:  # events in between are not needed
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    @property
    def url(self) -> str:
        history = self.call("Page.getNavigationHistory")
        return history["entries"][history["currentIndex"]]["url"]

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._holds(condition):
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout} s for {what}; the page:\n{self.html()[:2000]}")
            time.sleep(0.05)

    @staticmethod
    def _holds(condition: Callable[[], bool]) -> bool:
        try:
            return condition()
        except RuntimeError:  # between two documents (a navigation to another process)
            return False

    def wait_for_url(self, predicate: Callable[[str], bool], what: str, timeout: float = 15.0) -> None:
        self.wait_for(what, lambda: predicate(self.url), timeout)

    def _node(self, selector: str) -> int:
        root = self.call("DOM.getDocument", depth=0)["root"]["nodeId"]
        return int(self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"])

    def has(self, selector: str) -> bool:
        try:
            return self._node(selector) != 0
        except RuntimeError:  # the document is being replaced by a navigation
            return False

    def html(self) -> str:
        try:
            root = self.call("DOM.getDocument", depth=0)["root"]["nodeId"]
            return str(self.call("DOM.getOuterHTML", nodeId=root)["outerHTML"])
        except RuntimeError:
            return ""

    def type_into(self, selector: str, text: str) -> None:
        self.call("DOM.focus", nodeId=self._node(selector))
        self.call("Input.insertText", text=text)

    def click(self, selector: str) -> None:
        """A person's click: mouse down and up at the element's centre."""
        quad = self.call("DOM.getBoxModel", nodeId=self._node(selector))["model"]["content"]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


@contextmanager
def chromium(*, javascript: bool = True) -> Iterator[Page]:
    """A fresh headless Chromium (its own profile) and its first tab."""
    profile = Path(tempfile.mkdtemp(prefix="keystile-chromium-"))
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    if not javascript:
        flags.append("--blink-settings=scriptEnabled=false")
    process = subprocess.Popen(
        [chromium_path(), *flags, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Chromium did not start (exit code {process.poll()})")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        tab = next(t for t in targets if t["type"] == "page")
        with connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            page = Page(ws)
            page.call("Page.enable")
            yield page
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
