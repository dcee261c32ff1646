"""Stytch's search language (reference §7): `{cursor, limit, query: {operator, operands:
[{filter_name, filter_value}]}}`, with keyset pagination on (created_at, id).

A search endpoint declares its filters as `{name: FilterKind}` and turns each parsed
operand into a SQL condition; this module validates the shape and pages the results.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select
from sqlalchemy.sql import Select

from keystile import errors

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MIN_FUZZY = 3
MAX_VALUES = 1000


class FilterKind(Enum):
    STRINGS = "array of strings"
    STRING = "string"
    FUZZY = "string of at least 3 characters"
    BOOLEAN = "boolean"
    TIMESTAMP = "RFC 3339 timestamp"
    RANGE = "{greater_than, less_than}"


@dataclass(frozen=True)
class Operand:
    name: str
    value: Any


@dataclass(frozen=True)
class Query:
    operator: str  # "AND" | "OR"
    operands: list[Operand]

    def combine(self, conditions: list[ColumnElement[bool]]) -> ColumnElement[bool] | None:
        if not conditions:
            return None
        return and_(*conditions) if self.operator == "AND" else or_(*conditions)


def _timestamp(value: Any, fail: type[errors.StytchError]) -> datetime:
    if not isinstance(value, str):
        raise fail()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise fail() from None
    if parsed.tzinfo is None:
        raise fail("Timestamps need a zone, e.g. 2024-01-01T00:00:00Z.")
    return parsed


def parse_query(raw: Any, filters: dict[str, FilterKind], prefix: str) -> Query:
    """Validate a `query` object against the endpoint's filters; None means no filtering."""
    err = errors.search_errors(prefix)
    if raw is None:
        return Query("AND", [])
    if not isinstance(raw, dict):
        raise errors.BadRequest("query must be an object with operator and operands.")
    operator = raw.get("operator")
    if not isinstance(operator, str) or operator.upper() not in ("AND", "OR"):
        raise err["invalid_operator"]()
    operands = raw.get("operands") or []
    if not isinstance(operands, list):
        raise errors.BadRequest("query.operands must be an array.")
    parsed: list[Operand] = []
    for operand in operands:
        if not isinstance(operand, dict) or not operand.get("filter_name"):
            raise err["missing_filter_name"]()
        name = operand["filter_name"]
        if name not in filters:
            raise err["filter_name_not_recognized"](
                f"filter_name {name!r} is not recognized; use one of: {', '.join(sorted(filters))}."
            )
        if "filter_value" not in operand or operand["filter_value"] is None:
            raise err["missing_filter_value"](f"The {name} filter needs a filter_value.")
        parsed.append(Operand(name, _check_value(name, operand["filter_value"], filters[name], err)))
    return Query(operator.upper(), parsed)


def _check_value(name: str, value: Any, kind: FilterKind, err: dict[str, type[errors.StytchError]]) -> Any:
    if kind is FilterKind.STRINGS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise err["expected_array_of_strings"](f"The {name} filter_value must be an array of strings.")
        if len(value) > MAX_VALUES:
            raise err["maximum_filter_value_count_exceeded"]()
        return value
    if kind in (FilterKind.STRING, FilterKind.FUZZY):
        if not isinstance(value, str):
            raise err["expected_string"](f"The {name} filter_value must be a string.")
        if kind is FilterKind.FUZZY and len(value) < MIN_FUZZY:
            raise err["fuzzy_too_short"](f"The {name} filter_value needs at least {MIN_FUZZY} characters.")
        return value
    if kind is FilterKind.BOOLEAN:
        if not isinstance(value, bool):
            raise err["expected_boolean"](f"The {name} filter_value must be true or false.")
        return value
    if kind is FilterKind.TIMESTAMP:
        return _timestamp(value, err["invalid_timestamp"])
    if not isinstance(value, dict):
        raise err["invalid_timestamp"](f"The {name} filter_value must be {{greater_than, less_than}}.")
    return {k: _timestamp(v, err["invalid_timestamp"]) for k, v in value.items() if k in ("greater_than", "less_than")}


def check_limit(limit: int | None, prefix: str) -> int:
    if limit is None or limit == 0:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.search_errors(prefix)["invalid_limit"]()
    return limit


def encode_cursor(created_at: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created_at.isoformat(), row_id])).decode().rstrip("=")


def decode_cursor(cursor: str, prefix: str) -> tuple[datetime, str]:
    try:
        created, row_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created), str(row_id)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise errors.search_errors(prefix)["invalid_cursor"]() from None


def paginate(
    query: Select[Any], created_col: Any, id_col: Any, *, limit: int, cursor: str | None, prefix: str
) -> Select[Any]:
    """Order by (created_at, id), start after the cursor, fetch one extra row to know if more follow."""
    if cursor:
        created, row_id = decode_cursor(cursor, prefix)
        query = query.where(or_(created_col > created, and_(created_col == created, id_col > row_id)))
    return query.order_by(created_col, id_col).limit(limit + 1)


def page_results(rows: list[Any], limit: int, created_attr: str, id_attr: str) -> tuple[list[Any], str | None]:
    """The page and its `next_cursor` (None on the last page)."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    last = page[-1]
    return page, encode_cursor(getattr(last, created_attr), getattr(last, id_attr))


# --- SQL helpers every search shares ---


def contains_ci(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; `%` and `_` in the text match themselves."""
    return func.lower(column).contains(text.lower(), autoescape=True)


def json_array_has(
    dialect: str, document: Any, key: str | None, match: Callable[[Any], ColumnElement[bool]]
) -> ColumnElement[bool]:
    """EXISTS an element of the JSON string array `document[key]` (or `document`) satisfying
    `match`. SQLite unnests with json_each, PostgreSQL (JSONB) with jsonb_array_elements_text."""
    if dialect == "postgresql":
        array = document[key] if key else document
        elements = func.jsonb_array_elements_text(array).table_valued("value")
    else:
        elements = func.json_each(document, f"$.{key}" if key else "$").table_valued("value")
    return exists(select(literal(1)).select_from(elements).where(match(elements.c.value)))
