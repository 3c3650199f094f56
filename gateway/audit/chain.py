"""The hash chain over audit rows and the keyed anchors over its head: pure functions.

Each row's hash covers every stored column except ``row_hash`` itself, including ``seq``,
``event_id`` and ``prev_hash``, so a row cannot be moved, renumbered or relinked without
changing its hash. Anchors add a key: the chain alone is unkeyed, so anyone able to write
the file can recompute it; only an HMAC made with the anchor key vouches for a chain head.
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


def row_content(row: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a stored row that its hash covers: every column except ``row_hash``."""
    return {column: row[column] for column in HASHED_COLUMNS}


def row_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON (RFC 8785) of a row's content."""
    return sha256_hex(dict(content))


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
