"""Property: the writer's row hash, made from an event's canonical JSON and the columns it
assigns, is the hash verification recomputes from the stored row, and the one rfc8785 gives."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.audit.chain import (
    ASSIGNED_COLUMNS,
    EVENT_COLUMNS,
    GENESIS,
    EventJson,
    row_content,
    row_hash,
)

SAFE = 2**53 - 1

# Text that looks like the JSON around it: quotes, escapes, commas and column names.
TRICKY = st.sampled_from(
    ['","event_type":', ',"status_code":1', '\\",', "\\", '"', "},{", "\x00", "\u2028", "😀", "é"]
)
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=8)), max_size=4).map("".join)
VALUES = st.one_of(
    TEXT,
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.floats(allow_nan=False, allow_infinity=False),
)


def event_columns(values: dict[str, Any]) -> dict[str, Any]:
    return {name: values.get(name, "") for name in EVENT_COLUMNS}


def assigned(seq: int, event_id: str, occurred_at: str, prev_hash: str) -> dict[str, Any]:
    return {"seq": seq, "event_id": event_id, "occurred_at": occurred_at, "prev_hash": prev_hash}


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(st.sampled_from(EVENT_COLUMNS), VALUES),
    st.integers(min_value=1, max_value=SAFE),
    TEXT,
    TEXT,
    TEXT,
)
@example({"detail": '{"a":","}', "caller": 'x","event_type":"y'}, 1, "id", "2024", GENESIS)
def test_row_hash_from_event_json_is_the_row_hash(
    values: dict[str, Any], seq: int, event_id: str, occurred_at: str, prev_hash: str
) -> None:
    columns = event_columns(values)
    row = {**columns, **assigned(seq, event_id, occurred_at, prev_hash)}
    expected = hashlib.sha256(rfc8785.dumps(row_content(row))).hexdigest()
    assert EventJson.of(columns).row_hash(row) == row_hash(row_content(row)) == expected


def test_a_row_hashes_as_it_always_has() -> None:
    # Rows stored by earlier versions must keep verifying: this hash was recorded then.
    columns = event_columns(
        {
            "event_type": "email_sent",
            "tenant": "acme",
            "caller": "jwt:https://issuer.example#agent",
            "payload_redacted": '{"subject":"<string:12>","to":"<list:1>"}',
            "outcome": "succeeded",
            "status_code": "OK",
            "attempts": 1,
            "latency_ms": 12.345,
            "detail": '{"approval_id":"ap_1"}',
        }
    )
    row = {**columns, **assigned(7, "e" * 32, "2024-05-01T12:00:00.000001Z", GENESIS)}
    recorded = "0aabfbded3a6c8a42bb7e0095799b06184a6c2d581a791efc29103e5bbabd8c6"
    assert row_hash(row_content(row)) == EventJson.of(columns).row_hash(row) == recorded


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"attempts": SAFE + 1}, ValueError),
        ({"tenant": "\udc00"}, ValueError),
        ({"detail": {"nested": "object"}}, TypeError),
        ({"attempts": True}, TypeError),
    ],
)
def test_an_event_the_row_hash_cannot_encode_is_refused(
    change: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        EventJson.of({**event_columns({}), **change})


def test_assigned_and_event_columns_make_the_hashed_row() -> None:
    with pytest.raises(ValueError, match="exactly the event columns"):
        EventJson.of({**event_columns({}), "seq": 1})
    assert set(ASSIGNED_COLUMNS).isdisjoint(EVENT_COLUMNS)
