"""What every request must be before a service sees it: the base of every request body
(`RequestModel`) and the one check of path and query values (`params_need_a_look`, then
`unsafe_query` and `unsafe_path`), which the app's `SafeParams` middleware runs on every
request before routing.

A request body is a subclass of `RequestModel`, with plain `str` fields:

```python
from keystile.core.schemas import JwtStr, RequestModel

class AuthenticateRequest(RequestModel):
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    session_custom_claims: dict[str, Any] | None = None
```

and gets, with no further code:

- every string in the body, at any depth (dict keys and the values of `dict[str, Any]`
  fields included), refused when it cannot be stored: a NUL character (PostgreSQL's text
  and JSON types refuse it; SQLite would keep it) or a lone surrogate (`"\\ud800"` is
  valid JSON but not UTF-8, so neither database can take it);
- every `str` field at most `MAX_STRING` characters. A field that legitimately carries
  more says so in its type: `JwtStr` for a JWT, `Annotated[str, Field(max_length=N)]`
  for anything else (SAML metadata, a certificate);
- fields keystile does not know ignored (the SDKs send some it does not act on, and copy
  path parameters into the body);
- wrong JSON types, missing fields and bodies that are not objects refused by pydantic.

Each failure is a `ValidationError` located at the field, which the app renders as a 400
`bad_request` naming it, before the request's transaction or any service runs. The tests
(tests/http/test_hostile_input.py) send hostile input to every route in the app's route
table and refuse a body route whose model is not a `RequestModel`.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

# Longest string a request field may hold unless its type says otherwise: far above any
# id, token, email address, name or URL keystile takes, far below what would cost memory.
MAX_STRING = 4096
# A session JWT carries its custom claims (Stytch allows up to 4 kB of them) in base64.
MAX_JWT = 16384

# Longest path segment or query value: ids, email addresses, names; the same bound as a
# body's strings, so a browser callback's query (an OAuth `state`, a SAML redirect) fits.
MAX_PARAM = MAX_STRING

JwtStr = Annotated[str, Field(max_length=MAX_JWT)]


def unstorable_reason(text: str) -> str | None:
    """Why `text` cannot be stored (a NUL, a lone surrogate), or None when it can.

    ASCII text, nearly every string keystile sees, costs one `isascii` and one search."""
    if "\x00" in text:
        return "must not contain a NUL character"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate (it is not valid UTF-8)"
    return None


def first_unstorable(data: Any) -> tuple[tuple[str | int, ...], str, str] | None:
    """(location, reason, string) of the first string in decoded JSON that cannot be
    stored (dict keys included), or None. A loop, not recursion: JSON may nest deeper
    than Python recurses. On the hot path (a session token's body: one dict, a few ASCII
    strings) it costs well under a microsecond: ASCII strings without a NUL are passed by
    two C calls, and a location is only built for a container or a failure."""
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while pending:
        item, loc = pending.pop()
        if item.__class__ is dict:
            pairs: Any = item.items()
        elif item.__class__ is list:
            pairs = enumerate(item)
        else:
            if item.__class__ is str and (not item.isascii() or "\x00" in item):
                reason = unstorable_reason(item)
                if reason is not None:
                    return loc, reason, item
            continue
        for key, value in pairs:
            if key.__class__ is str and (not key.isascii() or "\x00" in key):
                reason = unstorable_reason(key)
                if reason is not None:
                    return (*loc, key), f"(a key) {reason}", key
            kind = value.__class__
            if kind is str:
                if not value.isascii() or "\x00" in value:
                    reason = unstorable_reason(value)
                    if reason is not None:
                        return (*loc, key), reason, value
            elif kind is dict or kind is list:
                pending.append((value, (*loc, key)))
    return None


class RequestModel(BaseModel):
    """The base of every request body (see the module's docstring for what it checks)."""

    model_config = ConfigDict(extra="ignore", str_max_length=MAX_STRING)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if data.__class__ is not dict:
            return data  # not an object: pydantic refuses it by its own type check
        found = first_unstorable(data)
        if found is None:
            return data
        loc, reason, text = found
        raise ValidationError.from_exception_data(
            cls.__name__,
            [InitErrorDetails(type=PydanticCustomError("string_unstorable", reason), loc=loc, input=text)],
        )


def printable(part: Any) -> str:
    """A location part as an error message can carry it: a dict key a client sent may hold
    a NUL or a lone surrogate, which the JSON response could not encode."""
    text = str(part)
    if unstorable_reason(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")


def _describe(loc: tuple[str | int, ...]) -> str:
    return ".".join(printable(part) for part in loc) or "body"


def undecodable_body(raw: bytes) -> str:
    """The message for a JSON body that is not UTF-8, naming the field whose string holds
    the stray bytes when the body is otherwise JSON (read with each such byte as a lone
    surrogate, which `first_unstorable` finds)."""
    try:
        found = first_unstorable(json.loads(raw.decode("utf-8", "surrogateescape")))
    except ValueError:
        found = None
    if found is None:
        return "The request body is not valid UTF-8."
    return f"{_describe(found[0])}: is not valid UTF-8."


def params_need_a_look(path: str, query: bytes) -> bool:
    """True when a path or query value may be unsafe: a NUL, bytes that may not be UTF-8,
    or a value past `MAX_PARAM`. The check every request pays: a few searches and lengths
    (`unsafe_query` and `unsafe_path` then decide)."""
    if "\x00" in path or "\ufffd" in path or len(path) > MAX_PARAM:  # U+FFFD: the server's for non-UTF-8
        return True
    if not query:
        return False
    return (
        len(query) > MAX_PARAM or b"%00" in query or not query.isascii() or _NON_ASCII_ESCAPE.search(query) is not None
    )


_NON_ASCII_ESCAPE = re.compile(rb"%[89a-fA-F]")


def _param_reason(raw: bytes) -> str | None:
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "must be valid UTF-8"
    reason = unstorable_reason(value)
    if reason is None and len(value) > MAX_PARAM:
        reason = f"must be at most {MAX_PARAM} characters"
    return reason


def unsafe_query(query: bytes) -> tuple[str, str] | None:
    """(name, reason) of the first query parameter whose name or value cannot be taken:
    split and unescaped as Starlette reads a query string, but with UTF-8 required."""
    for pair in query.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
        name = name_bytes.decode("utf-8", "replace")
        reason = _param_reason(name_bytes)
        if reason is not None:
            return name, f"has a name that {reason}"
        reason = _param_reason(unquote_to_bytes(raw_value.replace(b"+", b" ")))
        if reason is not None:
            return name, reason
    return None


def unsafe_path(path: str, raw_path: bytes | None, path_params: dict[str, Any] | None) -> tuple[str, str] | None:
    """(name, reason) for a path that cannot be taken: the parameter named when the route
    is known (its value as decoded, with U+FFFD where the bytes were not UTF-8), else `path`."""
    valid_utf8 = True
    if "\ufffd" in path and raw_path is not None:
        try:
            unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            valid_utf8 = False
    for name, value in (path_params or {}).items():
        if isinstance(value, str):
            reason = None if valid_utf8 or "\ufffd" not in value else "must be valid UTF-8"
            reason = reason or _param_reason(value.encode("utf-8", "surrogatepass"))
            if reason is not None:
                return name, reason
    reason = unstorable_reason(path) if valid_utf8 else "must be valid UTF-8"
    if reason is None and any(len(segment) > MAX_PARAM for segment in path.split("/")):
        reason = f"has a segment past {MAX_PARAM} characters"
    return ("path", reason) if reason is not None else None
