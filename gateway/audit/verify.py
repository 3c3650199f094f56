"""Checking a stored audit trail against its hash chain and its keyed anchors.

What verification detects:

* an altered row: its content no longer hashes to its stored ``row_hash``;
* a row altered and rehashed, inserted or replaced: the next row's ``prev_hash`` no longer
  matches, or an anchor made after it no longer matches the row it names;
* a deleted row: a gap in ``seq``;
* a cut tail: an anchor names a row that no longer exists, or a row whose hash differs (the
  tail was cut and regrown);
* a forged, edited or deleted-in-the-middle anchor: its MAC does not verify with the key, or
  ``anchor_seq`` has a gap;
* missing anchors: a row after the last anchor written longer ago than ``anchor_every_s``
  plus ``UNANCHORED_MARGIN_S``. A running writer anchors every ``anchor_every_s``, and one
  that restarts after a crash anchors what it finds unanchored at once, so such a row means
  anchors were deleted (with a cut tail: cutting rows together with the anchors over them
  leaves older rows after the last remaining anchor, or no anchor at all) or the gateway has
  not run since it stopped without anchoring.

What it cannot detect: the chain itself is unkeyed, so anyone able to write the file can
recompute it. Rows after the last anchor can therefore be altered, appended or cut without a
trace while they are younger than the anchor interval, and a tail cut exactly after an
anchored row, together with the anchors over it, leaves a shorter trail that verifies. This
is why the writer also logs each anchor: comparing the last logged anchor with the database
exposes such a cut.
"""

from __future__ import annotations

import asyncio
import hmac
import sqlite3
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.audit.chain import COLUMNS, GENESIS, Anchor, anchor_mac, row_content, row_hash
from gateway.clock import to_text, utc_now
from gateway.settings import AuditSettings

# How long past ``anchor_every_s`` a row may wait for its anchor: a busy writer anchors with
# its next batch, a little after the interval.
UNANCHORED_MARGIN_S = 60.0
DEFAULT_ANCHOR_EVERY_S: float = AuditSettings.model_fields["anchor_every_s"].default


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of ``verify_chain``.

    ``rows_checked`` and ``anchors_checked`` count what verified before the first problem
    (everything, when ``ok``). ``first_broken_seq`` is the first row that can no longer be
    trusted, or None when the problem is not with a particular row (a bad anchor MAC).
    ``problem`` is one sentence naming what broke, empty when ``ok``.
    """

    ok: bool
    rows_checked: int
    anchors_checked: int
    first_broken_seq: int | None
    problem: str


async def verify_chain(
    path: Path,
    anchor_key: bytes,
    *,
    anchor_every_s: float = DEFAULT_ANCHOR_EVERY_S,
    now: datetime | None = None,
) -> VerifyReport:
    """Verifies the audit trail in the database at ``path``; never modifies it.

    ``anchor_every_s`` is the writer's anchor interval (``audit.anchor_every_s``) and ``now``
    the instant to judge unanchored rows against (the current time by default).

    Runs in a worker thread (hashing every row is CPU work that would stall the event loop)
    over one read-only snapshot, so a writer appending meanwhile cannot cause a false alarm.
    Raises ``sqlite3.Error`` if the database cannot be read at all.
    """
    cutoff = (now or utc_now()) - timedelta(seconds=anchor_every_s + UNANCHORED_MARGIN_S)
    return await asyncio.to_thread(_verify, path, anchor_key, anchor_every_s, to_text(cutoff))


def _verify(path: Path, anchor_key: bytes, anchor_every_s: float, cutoff: str) -> VerifyReport:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as conn:
        conn.execute("BEGIN")  # one snapshot for the events and the anchors
        try:
            return _check(conn, anchor_key, anchor_every_s, cutoff)
        finally:
            conn.execute("ROLLBACK")


def _check(
    conn: sqlite3.Connection, key: bytes, anchor_every_s: float, cutoff: str
) -> VerifyReport:
    columns = {str(info[1]) for info in conn.execute("PRAGMA table_info(audit_events)")}
    if columns != set(COLUMNS):
        extra = ", ".join(sorted(columns - set(COLUMNS))) or "none"
        missing = ", ".join(sorted(set(COLUMNS) - columns)) or "none"
        return VerifyReport(
            False,
            0,
            0,
            None,
            f"audit_events does not have the chained columns (extra: {extra}; missing: {missing}).",
        )

    anchors = [
        Anchor(*row)
        for row in conn.execute(
            "SELECT anchor_seq, event_seq, row_hash, anchored_at, mac "
            "FROM audit_anchors ORDER BY anchor_seq"
        )
    ]
    # The MACs first: without them no anchor can vouch for anything.
    for expected_seq, anchor in enumerate(anchors, start=1):
        if anchor.anchor_seq != expected_seq:
            return VerifyReport(
                False, 0, 0, None, f"anchor {expected_seq} is missing from the anchor sequence."
            )
        mac = anchor_mac(
            key, anchor.anchor_seq, anchor.event_seq, anchor.row_hash, anchor.anchored_at
        )
        stored = anchor.mac.encode("utf-8", "replace") if isinstance(anchor.mac, str) else b""
        if not hmac.compare_digest(mac.encode("ascii"), stored):
            return VerifyReport(
                False,
                0,
                0,
                None,
                f"anchor {anchor.anchor_seq} does not verify: its MAC was forged or edited, "
                "or the key is wrong.",
            )
    by_row: dict[int, list[Anchor]] = defaultdict(list)
    for anchor in anchors:
        by_row[anchor.event_seq].append(anchor)
    last_anchored = max((anchor.event_seq for anchor in anchors), default=0)
    # The first row after the last anchor that has waited too long for one, if any.
    overdue: tuple[int, str] | None = None

    rows_ok = anchors_ok = 0

    def broken(seq: int | None, problem: str) -> VerifyReport:
        return VerifyReport(False, rows_ok, anchors_ok, seq, problem)

    expected_seq, prev_hash = 1, GENESIS
    cursor = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_events ORDER BY seq")
    for values in cursor:
        row = dict(zip(COLUMNS, values, strict=True))
        seq = int(row["seq"])
        if seq != expected_seq:
            missing = (
                f"row {expected_seq} is"
                if seq == expected_seq + 1
                else f"rows {expected_seq} to {seq - 1} are"
            )
            after = f"follows row {expected_seq - 1}" if expected_seq > 1 else "starts the chain"
            return broken(seq, f"{missing} missing: row {seq} {after}.")
        if _hash_or_none(row) != row["row_hash"]:
            return broken(seq, f"row {seq} was altered: its content no longer matches its hash.")
        if row["prev_hash"] != prev_hash:
            if seq == 1:
                return broken(
                    seq, "row 1 does not start the chain: its prev_hash is not the genesis."
                )
            return broken(
                seq,
                f"row {seq} does not link to row {seq - 1}: a row before it was altered and "
                "rehashed, inserted or replaced.",
            )
        for anchor in by_row.pop(seq, []):
            if anchor.row_hash != row["row_hash"]:
                return broken(
                    seq,
                    f"row {seq} does not match anchor {anchor.anchor_seq}: the chain was "
                    "rewritten, or cut and regrown, after it was anchored.",
                )
            anchors_ok += 1
        # Timestamps are RFC 3339 UTC text of one fixed width (gateway.clock): they compare
        # as text.
        if overdue is None and seq > last_anchored and str(row["occurred_at"]) < cutoff:
            overdue = (seq, str(row["occurred_at"]))
        rows_ok += 1
        expected_seq, prev_hash = seq + 1, row["row_hash"]

    if by_row:
        # Left over: anchors naming rows that do not exist (a gap would have been reported).
        event_seq = min(by_row)
        anchor = by_row[event_seq][0]
        last = expected_seq - 1
        if event_seq > last:
            return broken(
                last + 1,
                f"the chain ends at row {last} but anchor {anchor.anchor_seq} vouches for row "
                f"{event_seq}: the tail was cut.",
            )
        return broken(
            None,
            f"anchor {anchor.anchor_seq} vouches for row {event_seq}, which cannot exist.",
        )
    if overdue is not None:
        seq, occurred_at = overdue
        return broken(
            seq,
            f"row {seq} (written at {occurred_at}) and the rows after it have no anchor, "
            f"though the gateway anchors every {anchor_every_s:g} s: anchors are missing "
            "(deleted with a cut tail, or the gateway stopped without anchoring; a gateway "
            "that crashed anchors them at its next start, so start it and verify again).",
        )
    return VerifyReport(True, rows_ok, anchors_ok, None, "")


def _hash_or_none(row: dict[str, Any]) -> str | None:
    """The row's hash, or None if a tampered value cannot even be encoded (e.g. a BLOB)."""
    try:
        return row_hash(row_content(row))
    except (TypeError, ValueError):
        return None
