"""What every request must be before a service sees it: the base of every request body
(`RequestModel`) and the one check of path and query values (`unstorable_reason`).

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

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

# Longest string a request field may hold unless its type says otherwise: far above any
# id, token, email address, name or URL keystile takes, far below what would cost memory.
MAX_STRING = 4096
# A session JWT carries its custom claims (Stytch allows up to 4 kB of them) in base64.
MAX_JWT = 16384

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
    than Python recurses."""
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while pending:
        item, loc = pending.pop()
        kind = item.__class__
        if kind is str:
            reason = unstorable_reason(item)
            if reason is not None:
                return loc, reason, item
        elif kind is dict:
            for key, value in item.items():
                if key.__class__ is str:
                    reason = unstorable_reason(key)
                    if reason is not None:
                        return (*loc, key), f"has a key that {reason}", key
                pending.append((value, (*loc, key)))
        elif kind is list:
            pending.extend((value, (*loc, index)) for index, value in enumerate(item))
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
