"""Reading SOQL, for the sandbox org: the subset the connector's compiler writes (``soql.py``).

``SELECT f1, f2 FROM Type [WHERE a op literal AND ...] [ORDER BY f [ASC|DESC], ...] LIMIT n``
with string literals in Salesforce's escapes, numbers, ``true``/``false``, ``null``, dates
and UTC date-times. The reader works from the text alone, as Salesforce does, so a query
finds what its text says; anything else is ``SoqlError`` (answered ``MALFORMED_QUERY``).
"""

from __future__ import annotations

import datetime
import operator
import re
from dataclasses import dataclass
from typing import Any

Literal = str | float | bool | datetime.date | datetime.datetime | None
_ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class SoqlError(ValueError):
    """The query is not in the subset the sandbox reads."""


@dataclass(frozen=True)
class Comparison:
    """``field operator literal`` of a WHERE clause."""

    field: str
    operator: str
    literal: Literal

    def holds(self, value: Any) -> bool:
        """Whether a stored value satisfies the comparison; text compares without case, and a
        value of another type than the literal never satisfies an ordering."""
        left, right = _comparable(value, self.literal), _comparable(self.literal, self.literal)
        if self.operator == "=":
            return bool(left == right)
        if self.operator == "!=":
            return bool(left != right)
        if left is None or right is None:
            return False
        try:
            return bool(_ORDERINGS[self.operator](left, right))
        except (KeyError, TypeError):
            return False


@dataclass(frozen=True)
class Query:
    fields: list[str]
    sobject: str
    where: list[Comparison]
    order_by: list[tuple[str, bool]]  # (field, descending)
    limit: int


def _comparable(value: Any, like: Literal) -> Any:
    """A stored value as the literal's type compares it."""
    if value is None:
        return None
    if isinstance(like, datetime.datetime) and isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value.replace("+0000", "+00:00"))
        except ValueError:
            return None
    if isinstance(like, datetime.date) and isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(like, str) and isinstance(value, str):
        return value.casefold()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first, as SOQL sorts ascending; text without regard to case."""
    if value is None:
        return (0, "")
    return (1, value.casefold() if isinstance(value, str) else value)


_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_TOKEN = re.compile(
    r"\s*(?:(?P<string>')|(?P<datetime>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)"
    r"|(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})|(?P<number>-?[0-9]+(?:\.[0-9]+)?)"
    r"|(?P<op><=|>=|!=|=|<|>)|(?P<comma>,)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


def read_string(text: str, start: int) -> tuple[str, int]:
    """The string literal opening at ``text[start]`` (a quote), and where it ends."""
    out, i = [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _UNESCAPE:
                raise SoqlError("Invalid string literal: bad escape sequence")
            out.append(_UNESCAPE[text[i + 1]])
            i += 2
        elif ch == "'":
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise SoqlError("Invalid string literal: no closing quote")


def _literal(kind: str, raw: str) -> Literal:
    try:
        if kind == "datetime":
            return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if kind == "date":
            return datetime.date.fromisoformat(raw)
    except ValueError:
        raise SoqlError(f"invalid {kind} literal {raw!r}") from None
    return float(raw)


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    i = 0
    while text[i:].strip():
        match = _TOKEN.match(text, i)
        if match is None:
            raise SoqlError(f"unexpected character at position {i}")
        kind = match.lastgroup or ""
        if kind == "string":
            value, i = read_string(text, match.end() - 1)
            found.append(("literal", value))
            continue
        raw, i = match.group(kind), match.end()
        if kind in ("datetime", "date", "number"):
            found.append(("literal", _literal(kind, raw)))
        elif kind == "word" and raw.lower() in ("true", "false"):
            found.append(("literal", raw.lower() == "true"))
        elif kind == "word" and raw.lower() == "null":
            found.append(("literal", None))
        else:
            found.append((kind, raw))
    return found


class _Reader:
    def __init__(self, text: str) -> None:
        self._stream = _tokens(text)
        self._at = 0

    def take(self, kind: str, word: str | None = None) -> Any:
        if self._at >= len(self._stream):
            raise SoqlError(f"unexpected end of query, expecting {word or kind}")
        got_kind, got = self._stream[self._at]
        if got_kind != kind or (word is not None and str(got).upper() != word):
            raise SoqlError(f"unexpected token {got!r}, expecting {word or kind}")
        self._at += 1
        return got

    def next_is(self, kind: str, word: str | None = None) -> bool:
        if self._at >= len(self._stream):
            return False
        got_kind, got = self._stream[self._at]
        return got_kind == kind and (word is None or str(got).upper() == word)

    def done(self) -> bool:
        return self._at == len(self._stream)


def parse(text: str) -> Query:
    reader = _Reader(text)
    reader.take("word", "SELECT")
    fields = [reader.take("word")]
    while reader.next_is("comma"):
        reader.take("comma")
        fields.append(reader.take("word"))
    reader.take("word", "FROM")
    sobject = reader.take("word")
    where: list[Comparison] = []
    if reader.next_is("word", "WHERE"):
        reader.take("word", "WHERE")
        while True:
            where.append(Comparison(reader.take("word"), reader.take("op"), reader.take("literal")))
            if not reader.next_is("word", "AND"):
                break
            reader.take("word", "AND")
    order_by: list[tuple[str, bool]] = []
    if reader.next_is("word", "ORDER"):
        reader.take("word", "ORDER")
        reader.take("word", "BY")
        while True:
            path, descending = reader.take("word"), False
            if reader.next_is("word", "DESC") or reader.next_is("word", "ASC"):
                descending = str(reader.take("word")).upper() == "DESC"
            order_by.append((path, descending))
            if not reader.next_is("comma"):
                break
            reader.take("comma")
    reader.take("word", "LIMIT")
    limit = reader.take("literal")
    if not reader.done():
        raise SoqlError("unexpected text after LIMIT")
    if not isinstance(limit, float) or not limit.is_integer() or limit < 1:
        raise SoqlError("LIMIT takes a positive integer")
    return Query(fields, sobject, where, order_by, int(limit))
