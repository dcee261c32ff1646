"""The thin routes decode JSON bodies as FastAPI does (the json module), only faster."""

from __future__ import annotations

import json

import pytest

from keystile.core.thin import decode_json

BODIES = [
    b'{"session_token": "abc", "session_duration_minutes": 60}',
    b'{"n": 18446744073709551615, "m": -9223372036854775808}',  # the largest orjson keeps an int
    b'{"n": 18446744073709551616}',  # one past: orjson would give a float
    b'{"claims": {"deep": [1, {"n": 123456789012345678901234567890}]}}',
    b'{"x": 1.5, "y": [0.1, 2e3], "z": 12345678901234567890.0}',
    b'{"s": "12345678901234567890123456789"}',  # digits inside a string stay a string
    b"[" * 600 + b"1" + b"]" * 600,  # deeper than Python's recursion limit would allow a walk
    b'\xef\xbb\xbf{"bom": true}',
    b'{"nan": NaN}',
    b'"\\ud800"',
]


@pytest.mark.parametrize("raw", BODIES)
def test_every_body_decodes_exactly_as_the_json_module_does(raw):
    expected = json.loads(raw)
    decoded = decode_json(raw)
    assert repr(decoded) == repr(expected)  # repr: NaN != NaN, and int vs float must match


def test_a_huge_integer_stays_an_integer():
    assert decode_json(b'{"n": 123456789012345678901234567890}')["n"] == 123456789012345678901234567890
    assert isinstance(decode_json(b'{"n": 123456789012345678901234567890}')["n"], int)


def test_malformed_json_raises_the_json_modules_error():
    with pytest.raises(json.JSONDecodeError):
        decode_json(b'{"session_token": ')
