"""Pages of a listing: page sizes, and opaque page tokens holding a keyset cursor.

A listing is sorted newest first by a stored time and then by id, so a page continues after
the last row shown, ``(moment, key)``: rows added or removed meanwhile neither shift nor repeat
what follows. A token names the listing and filter it came from (its scope) and is refused,
INVALID_FIELD, anywhere else; it carries no tenant, which always comes from the caller.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gateway.clock import from_text
from gateway.errors import FieldViolation, InvalidField

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000  # the validation layer refuses larger page sizes
_MAX_TOKEN_CHARS = 1024

T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's sort time (stored text) and id."""

    moment: str
    key: str


def page_size(requested: int) -> int:
    return requested or DEFAULT_PAGE_SIZE


def encode(cursor: Cursor, scope: str) -> str:
    raw = json.dumps({"s": scope, "t": cursor.moment, "k": cursor.key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def _bad_token() -> InvalidField:
    return InvalidField(
        "page_token is not a next_page_token of this listing with these filters: send the "
        "token from the previous response with the same filters, or none for the first page",
        violations=(FieldViolation("page_token", "a next_page_token of the same listing"),),
    )


def decode(token: str, scope: str) -> Cursor | None:
    """The cursor in ``token`` (None for the first page); InvalidField for anything else."""
    if not token:
        return None
    if len(token) > _MAX_TOKEN_CHARS:
        raise _bad_token()
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("s") != scope:
            raise ValueError("another listing")
        moment, key = data.get("t"), data.get("k")
        if not isinstance(moment, str) or not isinstance(key, str) or not key:
            raise ValueError("no cursor")
        from_text(moment)  # a stored time, or the token was not made here
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad_token() from None
    return Cursor(moment, key)


def page(
    rows: Sequence[T], size: int, cursor_of: Callable[[T], Cursor], scope: str
) -> tuple[list[T], str]:
    """From up to ``size + 1`` rows: the page, and the token of the next page ('' at the end)."""
    shown = list(rows[:size])
    if len(rows) <= size or not shown:
        return shown, ""
    return shown, encode(cursor_of(shown[-1]), scope)
