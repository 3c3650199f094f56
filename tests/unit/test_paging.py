"""Page tokens: they round-trip, and anything not made for this listing and filter is a clear
INVALID_FIELD naming page_token."""

from __future__ import annotations

import base64

import pytest

from gateway.errors import InvalidField
from gateway.paging import Cursor, decode, encode, page

CURSOR = Cursor("2025-03-01T09:00:00.000001Z", "apr_0123")


def raw_token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_token_round_trips_in_its_own_scope() -> None:
    assert decode(encode(CURSOR, "approvals/all"), "approvals/all") == CURSOR
    assert decode("", "approvals/all") is None  # the first page


@pytest.mark.parametrize(
    "token",
    [
        encode(CURSOR, "approvals/pending"),  # another filter
        encode(CURSOR, "executions/all"),  # another listing
        "not a token",
        "%%%%",
        raw_token("[1, 2]"),
        raw_token('{"s": "approvals/all", "t": "yesterday", "k": "apr_1"}'),
        raw_token('{"s": "approvals/all", "t": "2025-03-01T09:00:00.000001Z", "k": ""}'),
        raw_token('{"s": "approvals/all"}'),
        "A" * 5000,
    ],
)
def test_anything_else_is_refused_naming_the_field(token: str) -> None:
    with pytest.raises(InvalidField) as refused:
        decode(token, "approvals/all")
    assert [v.field for v in refused.value.violations] == ["page_token"]
    assert "page_token" in refused.value.message


def test_a_page_has_a_next_token_only_when_more_rows_follow() -> None:
    def cursor_of(n: int) -> Cursor:
        return Cursor("2025-03-01T09:00:00.000000Z", str(n))

    shown, token = page([1, 2, 3], 2, cursor_of, "s")
    assert shown == [1, 2]
    assert decode(token, "s") == cursor_of(2)
    assert page([1, 2], 2, cursor_of, "s") == ([1, 2], "")
    assert page([], 2, cursor_of, "s") == ([], "")
