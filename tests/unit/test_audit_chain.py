"""The audit writer, its hash chain and anchors, and verification against tampering."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.chain import COLUMNS, GENESIS, anchor_mac, row_content, row_hash
from gateway.audit.record import AuditEvent, Outcome
from gateway.audit.verify import VerifyReport, verify_chain
from gateway.audit.writer import AuditWriter
from gateway.canonical import canonical_json
from gateway.settings import AuditSettings
from gateway.store.sqlite import migrate
from tests.support.waiting import wait_until

KEY = b"unit-test-anchor-key-0123456789"
ALTERED_17 = "row 17 was altered: its content no longer matches its hash."


def make_event(i: int, **changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "event_type": "connector.execute",
        "outcome": Outcome.SUCCEEDED,
        "tenant": "acme",
        "caller": f"agent-{i}",
        "rpc_method": "/connectorgateway.v1.Gateway/Execute",
        "connector_key": "email",
        "operation": "send",
        "execution_id": f"exec-{i}",
        "idempotency_key": f"idem-{i}",
        "payload_digest": "ab" * 32,
        "payload_redacted": {"to": "[redacted]", "n": i, "subject": "مرحبا", "x": [1.5, None]},
        "status_code": "OK",
        "attempts": 1,
        "latency_ms": 12.25 + i,
        "trace_id": "0123456789abcdef" * 2,
        "detail": {"vendor": "smtp"},
    }
    fields.update(changes)
    return AuditEvent(**fields)


async def open_writer(path: Path, **settings: Any) -> AuditWriter:
    writer = AuditWriter(path, AuditSettings(**settings), KEY)
    await writer.start()
    return writer


def read(path: Path, table: str = "audit_events", order: str = "seq") -> list[dict[str, Any]]:
    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]


def read_anchors(path: Path) -> list[dict[str, Any]]:
    return read(path, "audit_anchors", "anchor_seq")


def tamper(path: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        for sql, params in statements:
            conn.execute(sql, params)


def insert_row(row: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    marks = ", ".join("?" * len(COLUMNS))
    sql = f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES ({marks})"
    return sql, tuple(row[c] for c in COLUMNS)


def rehashed(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    forged = {**row, **changes}
    forged["row_hash"] = row_hash(row_content(forged))
    return forged


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.db"
    await migrate(path)
    return path


@pytest.fixture
async def chain30(db: Path) -> Path:
    """30 rows written one at a time, anchored at rows 10, 20 and 30."""
    writer = await open_writer(db, anchor_every_rows=10, anchor_every_s=3600)
    for i in range(1, 31):
        await writer.append(make_event(i))
    await writer.close()
    assert [a["event_seq"] for a in read_anchors(db)] == [10, 20, 30]
    assert await verify_chain(db, KEY) == VerifyReport(True, 30, 3, None, "")
    return db


async def test_rows_are_stored_as_chained_canonical_json(db: Path) -> None:
    writer = await open_writer(db)
    first = await writer.append(make_event(1))
    second = await writer.append(make_event(2, outcome="refused", status_code="PERMISSION_DENIED"))
    await writer.close()

    one, two = read(db)
    assert (one["seq"], one["event_id"]) == (first.seq, first.event_id) == (1, first.event_id)
    assert (two["seq"], two["event_id"]) == (second.seq, second.event_id) == (2, second.event_id)
    assert re.fullmatch(r"[0-9a-f]{32}", one["event_id"])
    assert one["event_id"] != two["event_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", one["occurred_at"])
    assert one["payload_redacted"] == canonical_json(make_event(1).payload_redacted).decode()
    assert one["detail"] == '{"vendor":"smtp"}'
    assert (one["outcome"], one["latency_ms"], one["attempts"]) == ("succeeded", 13.25, 1)
    assert (two["outcome"], two["status_code"]) == ("refused", "PERMISSION_DENIED")
    assert one["prev_hash"] == GENESIS
    assert two["prev_hash"] == one["row_hash"] == row_hash(row_content(one))
    assert two["row_hash"] == row_hash(row_content(two))
    # close() anchors the head, with a MAC over exactly these fields.
    (anchor,) = read_anchors(db)
    assert (anchor["anchor_seq"], anchor["event_seq"], anchor["row_hash"]) == (
        1,
        2,
        two["row_hash"],
    )
    assert anchor["mac"] == anchor_mac(KEY, 1, 2, two["row_hash"], anchor["anchored_at"])


async def test_concurrent_appends_are_durable_and_share_transactions(db: Path) -> None:
    writer = await open_writer(db)
    try:
        stored = await asyncio.gather(*(writer.append(make_event(i)) for i in range(50)))
        commits = writer.commits
        # Committed before close: another connection sees every row already.
        on_disk = read(db)
        assert await verify_chain(db, KEY) == VerifyReport(True, 50, 0, None, "")
    finally:
        await writer.close()

    assert [s.seq for s in stored] == list(range(1, 51))  # queue order is seq order
    assert [r["seq"] for r in on_disk] == list(range(1, 51))
    assert [(r["event_id"], r["caller"]) for r in on_disk] == [
        (s.event_id, f"agent-{i}") for i, s in enumerate(stored)
    ]
    assert 1 <= commits < 50  # group commit: fewer transactions than rows
    assert await verify_chain(db, KEY) == VerifyReport(True, 50, 1, None, "")


async def test_max_batch_bounds_each_transaction(db: Path) -> None:
    writer = await open_writer(db, max_batch=8)
    try:
        await asyncio.gather(*(writer.append(make_event(i)) for i in range(50)))
        assert math.ceil(50 / 8) <= writer.commits < 50
    finally:
        await writer.close()
    assert len(read(db)) == 50


async def test_altered_row_is_found(chain30: Path) -> None:
    tamper(chain30, ("UPDATE audit_events SET tenant = 'evil' WHERE seq = 17", ()))
    assert await verify_chain(chain30, KEY) == VerifyReport(False, 16, 1, 17, ALTERED_17)


async def test_altered_number_column_is_found(chain30: Path) -> None:
    tamper(chain30, ("UPDATE audit_events SET latency_ms = 1.0 WHERE seq = 17", ()))
    assert await verify_chain(chain30, KEY) == VerifyReport(False, 16, 1, 17, ALTERED_17)


async def test_altered_and_rehashed_row_breaks_the_next_link(chain30: Path) -> None:
    row = read(chain30)[16]
    forged = rehashed(row, tenant="evil")
    tamper(
        chain30,
        (
            "UPDATE audit_events SET tenant = ?, row_hash = ? WHERE seq = 17",
            ("evil", forged["row_hash"]),
        ),
    )
    report = await verify_chain(chain30, KEY)
    assert (report.ok, report.first_broken_seq, report.rows_checked) == (False, 18, 17)
    assert report.problem.startswith("row 18 does not link to row 17:")


async def test_rewritten_anchored_row_contradicts_its_anchor(chain30: Path) -> None:
    # The last row of the rewritten chain is the one anchor 2 vouches for.
    rows = read(chain30)
    forged = rehashed(rows[19], tenant="evil")
    tamper(
        chain30,
        ("DELETE FROM audit_events WHERE seq >= 20", ()),
        insert_row(forged),
    )
    report = await verify_chain(chain30, KEY)
    assert report == VerifyReport(
        False,
        19,
        1,
        20,
        "row 20 does not match anchor 2: the chain was rewritten, or cut and regrown, "
        "after it was anchored.",
    )


@pytest.mark.parametrize(
    ("deleted", "broken", "rows_ok", "problem"),
    [
        (12, 13, 11, "row 12 is missing: row 13 follows row 11."),
        (1, 2, 0, "row 1 is missing: row 2 starts the chain."),
    ],
)
async def test_deleted_row_is_found(
    chain30: Path, deleted: int, broken: int, rows_ok: int, problem: str
) -> None:
    tamper(chain30, ("DELETE FROM audit_events WHERE seq = ?", (deleted,)))
    report = await verify_chain(chain30, KEY)
    assert report == VerifyReport(False, rows_ok, 1 if rows_ok >= 10 else 0, broken, problem)


async def test_deleted_rows_range_is_named(chain30: Path) -> None:
    tamper(chain30, ("DELETE FROM audit_events WHERE seq BETWEEN 12 AND 14", ()))
    report = await verify_chain(chain30, KEY)
    assert (report.first_broken_seq, report.problem) == (
        15,
        "rows 12 to 14 are missing: row 15 follows row 11.",
    )


async def test_inserted_forged_row_is_found(chain30: Path) -> None:
    # A forger makes room at seq 15 and inserts a row that links correctly to row 14; the
    # forged row is self-consistent, but the renumbered row after it is not.
    rows = read(chain30)
    forged = rehashed(
        rows[13], seq=15, event_id="f" * 32, tenant="forged", prev_hash=rows[13]["row_hash"]
    )
    shifts = [
        ("UPDATE audit_events SET seq = seq + 1 WHERE seq = ?", (s,)) for s in range(30, 14, -1)
    ]
    tamper(chain30, *shifts, insert_row(forged))

    assert [r["seq"] for r in read(chain30)] == list(range(1, 32))
    report = await verify_chain(chain30, KEY)
    assert report == VerifyReport(
        False, 15, 1, 16, "row 16 was altered: its content no longer matches its hash."
    )


async def test_appended_row_with_a_wrong_link_is_found(chain30: Path) -> None:
    last = read(chain30)[-1]
    forged = rehashed(last, seq=31, event_id="f" * 32, prev_hash=GENESIS)
    tamper(chain30, insert_row(forged))
    report = await verify_chain(chain30, KEY)
    assert (report.ok, report.rows_checked, report.first_broken_seq) == (False, 30, 31)
    assert report.problem.startswith("row 31 does not link to row 30:")


async def test_truncated_tail_is_found(chain30: Path) -> None:
    tamper(chain30, ("DELETE FROM audit_events WHERE seq > 25", ()))
    assert await verify_chain(chain30, KEY) == VerifyReport(
        False,
        25,
        2,
        26,
        "the chain ends at row 25 but anchor 3 vouches for row 30: the tail was cut.",
    )


async def test_tail_cut_and_regrown_is_found(
    chain30: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tamper(chain30, ("DELETE FROM audit_events WHERE seq > 25", ()))
    with caplog.at_level(logging.ERROR, logger="gateway.audit.writer"):
        writer = await open_writer(chain30, anchor_every_rows=10, anchor_every_s=3600)
    assert "audit anchor 3 vouches for row 30, which is missing" in caplog.text
    for i in range(10):
        await writer.append(make_event(100 + i))
    await writer.close()

    assert [r["seq"] for r in read(chain30)] == list(range(1, 36))
    report = await verify_chain(chain30, KEY)
    assert (report.ok, report.rows_checked, report.anchors_checked) == (False, 29, 2)
    assert report.first_broken_seq == 30
    assert report.problem.startswith("row 30 does not match anchor 3:")


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE audit_anchors SET mac = ? WHERE anchor_seq = 2", ("0" * 64,)),
        # Moving an anchor back, to hide a cut tail, breaks its MAC.
        ("UPDATE audit_anchors SET event_seq = 15 WHERE anchor_seq = 2", ()),
        ("UPDATE audit_anchors SET row_hash = ? WHERE anchor_seq = 2", ("1" * 64,)),
    ],
)
async def test_tampered_anchor_is_found(chain30: Path, sql: str, params: tuple[Any, ...]) -> None:
    tamper(chain30, (sql, params))
    assert await verify_chain(chain30, KEY) == VerifyReport(
        False,
        0,
        0,
        None,
        "anchor 2 does not verify: its MAC was forged or edited, or the key is wrong.",
    )


async def test_forged_anchor_for_a_cut_tail_is_found(chain30: Path) -> None:
    # Without the key, a forger cannot re-anchor the shortened chain.
    rows = read(chain30)
    tamper(
        chain30,
        ("DELETE FROM audit_events WHERE seq > 25", ()),
        ("DELETE FROM audit_anchors WHERE anchor_seq = 3", ()),
        (
            "INSERT INTO audit_anchors VALUES (3, 25, ?, '2030-01-01T00:00:00.000000Z', ?)",
            (rows[24]["row_hash"], anchor_mac(b"guessed", 3, 25, rows[24]["row_hash"], "x")),
        ),
    )
    report = await verify_chain(chain30, KEY)
    assert (report.ok, report.first_broken_seq) == (False, None)
    assert report.problem.startswith("anchor 3 does not verify:")


async def test_deleted_middle_anchor_is_found(chain30: Path) -> None:
    tamper(chain30, ("DELETE FROM audit_anchors WHERE anchor_seq = 2", ()))
    assert await verify_chain(chain30, KEY) == VerifyReport(
        False, 0, 0, None, "anchor 2 is missing from the anchor sequence."
    )


async def test_wrong_key_fails(chain30: Path) -> None:
    report = await verify_chain(chain30, b"another-key")
    assert report == VerifyReport(
        False,
        0,
        0,
        None,
        "anchor 1 does not verify: its MAC was forged or edited, or the key is wrong.",
    )


async def test_limitation_cut_with_its_anchors_is_not_detected(chain30: Path) -> None:
    # Documented in gateway.audit.verify: only the logged anchors expose this.
    tamper(
        chain30,
        ("DELETE FROM audit_events WHERE seq > 25", ()),
        ("DELETE FROM audit_anchors WHERE anchor_seq = 3", ()),
    )
    assert await verify_chain(chain30, KEY) == VerifyReport(True, 25, 2, None, "")


async def test_limitation_well_formed_row_after_last_anchor_is_not_detected(
    chain30: Path,
) -> None:
    last = read(chain30)[-1]
    tamper(
        chain30, insert_row(rehashed(last, seq=31, event_id="f" * 32, prev_hash=last["row_hash"]))
    )
    assert await verify_chain(chain30, KEY) == VerifyReport(True, 31, 3, None, "")


async def test_verify_does_not_modify_the_file(chain30: Path) -> None:
    before = chain30.read_bytes()
    tamper(chain30, ("UPDATE audit_events SET tenant = 'evil' WHERE seq = 17", ()))
    tampered = chain30.read_bytes()
    assert tampered != before
    await verify_chain(chain30, KEY)
    assert chain30.read_bytes() == tampered
    # A read-only connection may leave an empty -wal behind (SQLite cannot remove it
    # read-only), but it never writes a frame into it.
    wal = chain30.with_name(chain30.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


async def test_cancelled_caller_does_not_lose_its_row(db: Path) -> None:
    writer = await open_writer(db)
    try:
        appending = asyncio.Event()

        async def append() -> None:
            appending.set()
            await writer.append(make_event(7))  # runs up to its first await: queued

        task = asyncio.create_task(append())
        await appending.wait()
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await writer.flush()
        assert [(r["seq"], r["caller"]) for r in read(db)] == [(1, "agent-7")]
    finally:
        await writer.close()
    assert await verify_chain(db, KEY) == VerifyReport(True, 1, 1, None, "")


async def test_submit_queues_before_any_await(db: Path) -> None:
    writer = await open_writer(db)
    try:
        future = writer.submit(make_event(1))
        assert not future.done()
        await writer.flush()
        assert future.result().seq == 1
        assert [r["event_id"] for r in read(db)] == [future.result().event_id]
    finally:
        await writer.close()


async def test_reopened_writer_continues_the_chain(db: Path) -> None:
    first = await open_writer(db)
    for i in range(3):
        await first.append(make_event(i))
    await first.close()

    second = await open_writer(db)
    stored = [await second.append(make_event(i)) for i in range(3, 7)]
    await second.close()

    rows = read(db)
    assert [s.seq for s in stored] == [4, 5, 6, 7]
    assert rows[3]["prev_hash"] == rows[2]["row_hash"]
    assert [(a["anchor_seq"], a["event_seq"]) for a in read_anchors(db)] == [(1, 3), (2, 7)]
    assert await verify_chain(db, KEY) == VerifyReport(True, 7, 2, None, "")


async def test_idle_rows_are_anchored_after_anchor_every_s(db: Path) -> None:
    writer = await open_writer(db, anchor_every_rows=1000, anchor_every_s=0.05)
    try:
        await writer.append(make_event(1))
        anchors = await wait_until(lambda: read_anchors(db), what="the idle row's anchor")
        assert [a["event_seq"] for a in anchors] == [1]
    finally:
        await writer.close()
    assert len(read_anchors(db)) == 1  # nothing new to anchor on close


async def test_rows_left_unanchored_by_a_crash_are_anchored_on_start(db: Path) -> None:
    writer = await open_writer(db)
    for i in range(3):
        await writer.append(make_event(i))
    await writer.close()
    tamper(db, ("DELETE FROM audit_anchors", ()))  # as if the process had died before close

    writer = await open_writer(db, anchor_every_s=3600)
    try:
        anchors = await wait_until(lambda: read_anchors(db), what="the anchor of the rows left")
        assert [(a["anchor_seq"], a["event_seq"]) for a in anchors] == [(1, 3)]
    finally:
        await writer.close()


async def test_anchor_is_logged_without_the_key(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = await open_writer(db)
    await writer.append(make_event(1))
    with caplog.at_level(logging.INFO, logger="gateway.audit.writer"):
        await writer.close()
    (anchor,) = read_anchors(db)
    (message,) = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("audit anchor")
    ]
    assert f"event_seq=1 row_hash={anchor['row_hash']}" in message
    assert f"mac={anchor['mac']}" in message
    assert KEY.decode() not in caplog.text
    assert KEY.hex() not in caplog.text


async def test_failed_batch_fails_all_its_callers_and_the_chain_continues(db: Path) -> None:
    tamper(
        db,
        (
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON audit_events WHEN NEW.tenant = 'boom' "
            "BEGIN SELECT RAISE(ABORT, 'boom refused'); END",
            (),
        ),
    )
    writer = await open_writer(db)
    try:
        # Queued together, so written as one batch: one bad row fails the transaction.
        results = await asyncio.gather(
            writer.append(make_event(1)),
            writer.append(make_event(2, tenant="boom")),
            writer.append(make_event(3)),
            return_exceptions=True,
        )
        assert [type(r) for r in results] == [sqlite3.IntegrityError] * 3
        assert read(db) == []
        stored = await writer.append(make_event(4))
        assert stored.seq == 1  # the failed batch used no seq numbers
    finally:
        await writer.close()
    assert [r["caller"] for r in read(db)] == ["agent-4"]
    assert await verify_chain(db, KEY) == VerifyReport(True, 1, 1, None, "")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"payload_redacted": {"ids": {1, 2}}}, ValueError),
        ({"latency_ms": math.nan}, ValueError),
        ({"attempts": 2**60}, ValueError),
        ({"tenant": "\ud800"}, ValueError),
        ({"attempts": True}, TypeError),
        ({"tenant": 5}, TypeError),
        ({"outcome": "maybe"}, ValueError),
    ],
)
async def test_unstorable_event_is_refused_without_using_a_seq(
    db: Path, changes: dict[str, Any], error: type[Exception]
) -> None:
    writer = await open_writer(db)
    try:
        with pytest.raises(error):
            await writer.append(make_event(1, **changes))
        assert (await writer.append(make_event(2))).seq == 1
    finally:
        await writer.close()
    assert await verify_chain(db, KEY) == VerifyReport(True, 1, 1, None, "")


async def test_closed_writer_refuses_events_and_closes_twice(db: Path) -> None:
    writer = await open_writer(db)
    await writer.close()
    await writer.close()
    with pytest.raises(RuntimeError, match="not running"):
        await writer.append(make_event(1))
    assert read(db) == []
    assert read_anchors(db) == []


async def test_empty_key_is_refused(db: Path) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        AuditWriter(db, AuditSettings(), b"")
