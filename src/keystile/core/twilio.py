"""Text messages sent through Twilio's Messages API (KEYSTILE_SMS_URL).

One call per message: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded
`To`, `From` (or `MessagingServiceSid`) and `Body`, HTTP Basic auth; Twilio answers 201 with
the Message resource (`sid`, `status`), or an error body `{code, message, more_info, status}`.
A 429 or 5xx, a timeout or a dropped connection is worth retrying; any other 4xx (a number
Twilio refuses, a sender not in the account, bad credentials) will fail the same way again.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import httpx
import orjson

from keystile import errors
from keystile.core import phones

API_VERSION = "2010-04-01"
# An answer larger than this is not Twilio's; it is cut off, not read into memory.
MAX_RESPONSE_BYTES = 64 * 1024

_QUERY_KEYS = ("from", "messaging_service_sid", "whatsapp_from", "account_sid")


@dataclass(frozen=True)
class TwilioTarget:
    """Where and as whom texts are sent, parsed from KEYSTILE_SMS_URL:

    `twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15017122661`
    (`messaging_service_sid=MG…` instead of `from`; `whatsapp_from=%2B1…` for
    WhatsApp; `account_sid=AC…` when the user is an API key `SK…`; `twilio+http://` for a
    Twilio-compatible server on plain HTTP, as in tests)."""

    base_url: str
    account_sid: str
    username: str
    password: str
    sms_from: str | None
    messaging_service_sid: str | None
    whatsapp_from: str | None

    @classmethod
    def parse(cls, url: str) -> TwilioTarget:
        parts = urlparse(url)
        if parts.scheme not in ("twilio", "twilio+http") or not parts.hostname:
            raise ValueError(
                "KEYSTILE_SMS_URL must look like twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15017122661"
            )
        if not parts.username or not parts.password:
            raise ValueError("KEYSTILE_SMS_URL needs the account SID and auth token: twilio://ACCOUNT_SID:AUTH_TOKEN@…")
        query: dict[str, str] = {}
        for pair in filter(None, parts.query.split("&")):
            key, _, value = pair.partition("=")
            # unquote, not unquote_plus: a `+` typed as is stays the `+` of a phone number.
            key, value = unquote(key), unquote(value)
            if key not in _QUERY_KEYS:
                raise ValueError(f"KEYSTILE_SMS_URL: unknown parameter {key!r}; allowed: {', '.join(_QUERY_KEYS)}")
            query[key] = value
        username = unquote(parts.username)
        account_sid = query.get("account_sid") or username
        service = query.get("messaging_service_sid") or None
        if service is not None and not service.startswith("MG"):
            raise ValueError(f"KEYSTILE_SMS_URL: messaging_service_sid {service!r} must start with MG")
        sms_from = _sender(query.get("from"), "from")
        whatsapp_from = _sender(query.get("whatsapp_from"), "whatsapp_from")
        if sms_from is None and service is None and whatsapp_from is None:
            raise ValueError(
                "KEYSTILE_SMS_URL names no sender: add from=%2B… (a Twilio number), "
                "messaging_service_sid=MG… or whatsapp_from=%2B…"
            )
        scheme = "http" if parts.scheme == "twilio+http" else "https"
        port = f":{parts.port}" if parts.port else ""
        return cls(
            base_url=f"{scheme}://{parts.hostname}{port}",
            account_sid=account_sid,
            username=username,
            password=unquote(parts.password),
            sms_from=sms_from,
            messaging_service_sid=service,
            whatsapp_from=whatsapp_from,
        )

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def sender(self, channel: str) -> str | None:
        """Who a text of this channel comes from, as the dev inbox and `outbox list` show it."""
        if channel == "whatsapp":
            if self.whatsapp_from:
                return f"whatsapp:{self.whatsapp_from}"
            return self.messaging_service_sid
        return self.sms_from or self.messaging_service_sid

    def form(self, channel: str, to: str, body: str) -> dict[str, str]:
        """The form fields of one Messages.json request; TextFailure if the channel has no sender."""
        if channel == "whatsapp":
            fields = {"To": f"whatsapp:{to}", "Body": body}
            if self.whatsapp_from:
                fields["From"] = f"whatsapp:{self.whatsapp_from}"
            elif self.messaging_service_sid:
                fields["MessagingServiceSid"] = self.messaging_service_sid
            else:
                raise TextFailure("KEYSTILE_SMS_URL has no WhatsApp sender (whatsapp_from=…)", permanent=True)
            return fields
        fields = {"To": to, "Body": body}
        if self.sms_from:
            fields["From"] = self.sms_from
        elif self.messaging_service_sid:
            fields["MessagingServiceSid"] = self.messaging_service_sid
        else:
            raise TextFailure("KEYSTILE_SMS_URL has no SMS sender (from=… or messaging_service_sid=…)", permanent=True)
        return fields


def _sender(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        return phones.normalize(value)
    except errors.InvalidPhoneNumber:
        raise ValueError(f"KEYSTILE_SMS_URL: {name} {value!r} is not an E.164 phone number (write + as %2B)") from None


class TextFailure(Exception):
    """Twilio did not take the message. `permanent`: sending it again would fail the same way."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


async def send(client: httpx.AsyncClient, target: TwilioTarget, channel: str, to: str, body: str) -> str:
    """Hand one text to Twilio; returns the Message SID. Raises TextFailure."""
    fields = target.form(channel, to, body)
    try:
        async with client.stream(
            "POST", target.messages_url, data=fields, auth=(target.username, target.password)
        ) as response:
            content = await _read_capped(response)
    except httpx.HTTPError as exc:
        raise TextFailure(f"{type(exc).__name__}: {exc or 'no answer from Twilio'}", permanent=False) from None
    answer = _json(content)
    if 200 <= response.status_code < 300:
        sid = answer.get("sid")
        if not isinstance(sid, str) or not sid:
            raise TextFailure(f"Twilio answered {response.status_code} without a message sid", permanent=False)
        return sid
    code, message = answer.get("code"), answer.get("message")
    detail = f"Twilio {response.status_code}" + (f" error {code}" if code else "") + (f": {message}" if message else "")
    retry = response.status_code == 429 or response.status_code >= 500
    raise TextFailure(detail, permanent=not retry)


async def _read_capped(response: httpx.Response) -> bytes:
    content = bytearray()
    async for chunk in response.aiter_bytes():
        content.extend(chunk)
        if len(content) > MAX_RESPONSE_BYTES:
            break
    return bytes(content[:MAX_RESPONSE_BYTES])


def _json(content: bytes) -> dict:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
