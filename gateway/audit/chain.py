"""The hash chain over audit rows and the keyed anchors over its head: pure functions.

Each row's hash covers every stored column except ``row_hash`` itself, including ``seq``,
``event_id`` and ``prev_hash``, so a row cannot be moved, renumbered or relinked without
changing its hash. Anchors add a key: the chain alone is unkeyed, so anyone able to write
the file can recompute it; only an HMAC made with the anchor key vouches for a chain head.

The writer canonicalizes an event's columns once, when the event is submitted
(``EventJson``), and hashes its row by adding the columns it assigns to that text;
verification recomputes the same hash from the stored row (``row_hash``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.canonical import canonical_json, sha256_hex

GENESIS = "0" * 64  # prev_hash of the first row


@dataclass(frozen=True)
class Anchor:
    """One row of audit_anchors: the chain head at event_seq, signed with the anchor key."""

    anchor_seq: int
    event_seq: int
    row_hash: str
    anchored_at: str
    mac: str


# Stored columns of audit_events in schema order. Fixed rather than read from the table, so
# that a later migration adding a column must decide explicitly whether it is chained.
COLUMNS: tuple[str, ...] = (
    "seq",
    "event_id",
    "occurred_at",
    "event_type",
    "tenant",
    "caller",
    "rpc_method",
    "connector_key",
    "operation",
    "execution_id",
    "idempotency_key",
    "payload_digest",
    "payload_redacted",
    "outcome",
    "status_code",
    "reason",
    "attempts",
    "latency_ms",
    "trace_id",
    "detail",
    "prev_hash",
    "row_hash",
)
HASHED_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c != "row_hash")
# Assigned by the writer when the row takes its place in the chain; an event brings the rest.
ASSIGNED_COLUMNS: tuple[str, ...] = ("seq", "event_id", "occurred_at", "prev_hash")
EVENT_COLUMNS: tuple[str, ...] = tuple(c for c in HASHED_COLUMNS if c not in ASSIGNED_COLUMNS)


@dataclass(frozen=True)
class _Insertion:
    column: str  # an assigned column
    member: bytes  # how its member starts: '"seq":'
    before: bytes  # how the member of the event column it goes before starts: ',"status_code":'


def _insertions() -> tuple[_Insertion, ...]:
    """Where each assigned column's member goes in a row's canonical JSON. RFC 8785 orders
    members by key, which for these ASCII names is Python's order."""
    order = sorted(HASHED_COLUMNS)
    insertions = []
    for name in sorted(ASSIGNED_COLUMNS):
        following = [c for c in order[order.index(name) :] if c in EVENT_COLUMNS]
        # EventJson cuts before a member that a comma precedes: never the first nor the end.
        if not following or following[0] == min(EVENT_COLUMNS):
            raise ValueError(f"no event column to insert {name!r} before")
        insertions.append(_Insertion(name, f'"{name}":'.encode(), f',"{following[0]}":'.encode()))
    return tuple(insertions)


_INSERTIONS = _insertions()
_EVENT_COLUMN_SET = frozenset(EVENT_COLUMNS)
_SCALAR_TYPES = frozenset({str, int, float})


def row_content(row: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a stored row that its hash covers: every column except ``row_hash``."""
    return {column: row[column] for column in HASHED_COLUMNS}


def row_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON (RFC 8785) of a row's content."""
    return sha256_hex(dict(content))


@dataclass(frozen=True)
class EventJson:
    """The canonical JSON of an event's columns, cut where the assigned columns go.

    Made when the event is submitted, which is also the check that its row can be hashed (no
    integer beyond 2**53, no lone surrogate): a bad event fails for its caller alone, not for
    the batch it would have been written in.
    """

    pieces: tuple[bytes, ...]

    @classmethod
    def of(cls, columns: dict[str, Any]) -> EventJson:
        """``columns``: the EVENT_COLUMNS, each a str, int or float. Raises ValueError."""
        if columns.keys() != _EVENT_COLUMN_SET:
            raise ValueError("an event has exactly the event columns")
        if not set(map(type, columns.values())) <= _SCALAR_TYPES:
            raise TypeError("event columns are str, int or float")
        text = canonical_json(columns)
        pieces, start = [], 0
        for insertion in _INSERTIONS:
            # In the canonical JSON of an object of scalars, ',"name":' can only open that
            # member: quotes within strings are escaped, and a closing quote is followed by
            # ',', ':' or '}', never by a letter.
            cut = text.index(insertion.before, start) + 1
            pieces.append(text[start:cut])
            start = cut
        pieces.append(text[start:])
        return cls(tuple(pieces))

    def row_hash(self, row: Mapping[str, Any]) -> str:
        """``row_hash(row_content(row))`` of a row made of these event columns and the
        assigned ones (read from ``row``), without canonicalizing the event's again."""
        parts = [self.pieces[0]]
        for insertion, piece in zip(_INSERTIONS, self.pieces[1:], strict=True):
            parts += (insertion.member, canonical_json(row[insertion.column]), b",", piece)
        return hashlib.sha256(b"".join(parts)).hexdigest()


def anchor_mac(key: bytes, anchor_seq: int, event_seq: int, row_hash: str, anchored_at: str) -> str:
    """HMAC-SHA256 hex over the canonical JSON of an anchor's fields."""
    message = canonical_json(
        {
            "anchor_seq": anchor_seq,
            "event_seq": event_seq,
            "row_hash": row_hash,
            "anchored_at": anchored_at,
        }
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()
