"""SOQL text from a structured filter: the only way a query reaches Salesforce.

Agents never send SOQL. Names (objects, fields) must match a strict identifier pattern, so
they cannot carry quotes, spaces, parentheses or keywords; every value is rendered as a typed
literal: strings quoted with Salesforce's escape sequences, numbers, booleans, dates and
date-times unquoted in the only forms SOQL reads them. A value that cannot be rendered safely
raises ``ValueError``; nothing is ever passed through as written.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

# An API name: standard (LastName) or custom, namespaced or not (ns__Customer_Id__c).
IDENTIFIER = r"[A-Za-z][A-Za-z0-9_]{0,79}"
# A field, or a field reached through up to four parent relationships (Account.Owner.Name).
FIELD_PATH_PATTERN = rf"^{IDENTIFIER}(\.{IDENTIFIER}){{0,4}}$"
_IDENTIFIER = re.compile(IDENTIFIER)
_FIELD_PATH = re.compile(FIELD_PATH_PATTERN.strip("^$"))
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# SOQL reads date-times to the second, with a zone; the gateway sends UTC ("Z").
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")

Operator = Literal["=", "!=", "<", "<=", ">", ">="]
OPERATORS: tuple[Operator, ...] = ("=", "!=", "<", "<=", ">", ">=")

# Salesforce's escape sequences for quoted strings. Other control characters have none, so
# they are refused rather than sent.
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_UNESCAPABLE = re.compile(r"[\x00-\x07\x0b\x0e-\x1f\x7f-\x9f]")
MAX_NUMBER = 1e15  # beyond this a double no longer holds every cent


def name(text: str) -> str:
    """An object's API name, unchanged once checked."""
    if not _IDENTIFIER.fullmatch(text):
        raise ValueError(f"{text!r} is not an API name")
    return text


def field(path: str) -> str:
    """A field or relationship path, unchanged once checked."""
    if not _FIELD_PATH.fullmatch(path):
        raise ValueError(f"{path!r} is not a field name or relationship path")
    return path


def string(text: str) -> str:
    """A quoted string literal."""
    if _UNESCAPABLE.search(text):
        raise ValueError("a control character other than tab, CR or LF cannot be sent in SOQL")
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in text) + "'"


def number(value: float) -> str:
    """A decimal literal, never in exponent form."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number literal takes an int or a float")
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise ValueError(f"a number literal must be finite and within ±{MAX_NUMBER:g}")
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")


def boolean(value: bool) -> str:
    if not isinstance(value, bool):
        raise ValueError("a boolean literal takes a bool")
    return "true" if value else "false"


def date(value: str) -> str:
    """A date literal: YYYY-MM-DD, unquoted."""
    if not _DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
    datetime.date.fromisoformat(value)  # refuses 2025-02-30
    return value


def date_time(value: str) -> str:
    """A date-time literal in UTC: YYYY-MM-DDThh:mm:ssZ, unquoted."""
    if not _DATETIME.fullmatch(value):
        raise ValueError(f"{value!r} is not a UTC date-time (YYYY-MM-DDThh:mm:ssZ)")
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def comparison(path: str, operator: str, literal: str) -> str:
    """``path operator literal``; ``literal`` comes from one of the functions above."""
    if operator not in OPERATORS:
        raise ValueError(f"{operator!r} is not a comparison operator")
    return f"{field(path)} {operator} {literal}"


def select(
    sobject: str,
    fields: Sequence[str],
    *,
    where: Sequence[str] = (),
    order_by: Sequence[tuple[str, bool]] = (),
    limit: int,
) -> str:
    """``SELECT … FROM … [WHERE … AND …] [ORDER BY …] LIMIT n``. ``where`` holds the output
    of ``comparison``; ``order_by`` pairs a field with True for descending."""
    if not fields:
        raise ValueError("a query selects at least one field")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("a query's limit is a positive integer")
    text = f"SELECT {', '.join(field(f) for f in fields)} FROM {name(sobject)}"
    if where:
        text += " WHERE " + " AND ".join(where)
    if order_by:
        text += " ORDER BY " + ", ".join(
            f"{field(f)} {'DESC' if descending else 'ASC'}" for f, descending in order_by
        )
    return f"{text} LIMIT {limit}"
