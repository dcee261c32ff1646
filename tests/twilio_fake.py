"""A local server that speaks Twilio's Messages API, for the text delivery tests.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with form-encoded `To`, `From` or
`MessagingServiceSid`, and `Body`, HTTP Basic auth with the account SID (or an API key) and
its secret. It answers as Twilio documents: 201 and the Message resource, or an error body
`{code, message, more_info, status}` (401 for bad credentials, 400 for a missing field, and
whatever a test scripted for a number: 429, 5xx, 21211 …). It records every request.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-for-tests"


@dataclass
class Received:
    path: str
    username: str
    password: str
    form: dict[str, str]
    status: int


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio:
    """Run with `with FakeTwilio() as twilio:`; `twilio.port`, `twilio.received`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        # Answers to give, in order, for a recipient (`To` as sent) before accepting its messages.
        self.scripted: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        self._changed = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                username, password = _basic(self.headers.get("Authorization", ""))
                status, body = fake._answer(self.path, username, password, form)
                with fake._changed:
                    fake.received.append(Received(self.path, username, password, form, status))
                    fake._changed.notify_all()
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-twilio")

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, query: str = "from=%2B12025550100&whatsapp_from=%2B14155238886") -> str:
        return f"twilio+http://{ACCOUNT_SID}:{AUTH_TOKEN}@127.0.0.1:{self.port}?{query}"

    def script(self, to: str, *answers: tuple[int, dict[str, Any]]) -> None:
        """Answer the next requests to `to` with these (status, body) pairs, then accept."""
        with self._changed:
            self.scripted[to].extend(answers)

    def to(self, to: str) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.form.get("To") == to]

    def wait_for(self, to: str, count: int = 1, timeout: float = 15) -> list[Received]:
        """Block until `count` requests to `to` arrived (bounded by `timeout`)."""
        with self._changed:
            self._changed.wait_for(lambda: len([r for r in self.received if r.form.get("To") == to]) >= count, timeout)
        return self.to(to)

    def _answer(self, path: str, username: str, password: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        expected = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        if username != ACCOUNT_SID or password != AUTH_TOKEN:
            return 401, twilio_error(401, 20003, "Authenticate")
        if path != expected:
            return 404, twilio_error(404, 20404, f"The requested resource {path} was not found")
        if not form.get("To"):
            return 400, twilio_error(400, 21604, "A 'To' phone number is required.")
        if not form.get("Body"):
            return 400, twilio_error(400, 21602, "Message body is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, twilio_error(400, 21603, "A 'From' phone number is required.")
        with self._changed:
            pending = self.scripted.get(form["To"])
            if pending:
                return pending.pop(0)
        sid = "SM" + uuid.uuid4().hex
        return 201, {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form["Body"],
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        }


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password
