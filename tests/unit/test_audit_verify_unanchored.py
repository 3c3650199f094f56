"""`audit verify` and rows that no anchor vouches for although anchors were due long ago."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit.chain import GENESIS
from gateway.audit.verify import UNANCHORED_MARGIN_S, VerifyReport, verify_chain
from gateway.audit.writer import AuditWriter
from gateway.clock import from_text
from gateway.settings import AuditSettings
from gateway.store.sqlite import migrate
from tests.support.cli import run_cli
from tests.unit.test_audit_chain import (
    insert_row,
    make_event,
    read,
    read_anchors,
    rehashed,
    tamper,
)

KEY = b"unit-test-anchor-key-0123456789-x"
EVERY_S = 10.0


async def write_rows(db: Path, count: int, **settings: float) -> None:
    writer = AuditWriter(db, AuditSettings(anchor_every_s=EVERY_S, **settings), KEY)
    await writer.start()
    for i in range(count):
        await writer.append(make_event(i))
    await writer.close()


def written_at(db: Path, seq: int) -> datetime:
    (row,) = [r for r in read(db) if r["seq"] == seq]
    return from_text(row["occurred_at"])


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.db"
    await migrate(path)
    return path


@pytest.fixture
async def chain12(db: Path) -> Path:
    """12 rows, anchored at rows 5 and 10 and, on close, 12."""
    await write_rows(db, 12, anchor_every_rows=5)
    assert [a["event_seq"] for a in read_anchors(db)] == [5, 10, 12]
    return db


def later(db: Path, seconds: float) -> datetime:
    """An instant ``seconds`` after the last row was written."""
    return written_at(db, max(r["seq"] for r in read(db))) + timedelta(seconds=seconds)


async def test_an_anchored_chain_verifies_however_old(chain12: Path) -> None:
    for now in (later(chain12, 0), later(chain12, 30 * 24 * 3600)):
        assert await verify_chain(chain12, KEY, anchor_every_s=EVERY_S, now=now) == VerifyReport(
            True, 12, 3, None, ""
        )


async def test_a_cut_tail_with_its_anchors_is_reported_once_anchors_were_due(
    chain12: Path,
) -> None:
    # Rows 8 to 12 cut together with the anchors over them: row 5's anchor is the last.
    tamper(
        chain12,
        ("DELETE FROM audit_events WHERE seq > 7", ()),
        ("DELETE FROM audit_anchors WHERE event_seq > 7", ()),
    )
    # Young rows may be waiting for their anchor: a running gateway is not a broken one.
    assert await verify_chain(
        chain12, KEY, anchor_every_s=EVERY_S, now=later(chain12, EVERY_S)
    ) == VerifyReport(True, 7, 1, None, "")

    now = later(chain12, EVERY_S + UNANCHORED_MARGIN_S + 1)
    report = await verify_chain(chain12, KEY, anchor_every_s=EVERY_S, now=now)
    assert (report.ok, report.first_broken_seq) == (False, 6)
    sixth = read(chain12)[5]["occurred_at"]
    assert report.problem.startswith(f"row 6 (written at {sixth}) and the rows after it")
    assert "anchors are missing" in report.problem
    assert "a gateway that crashed anchors them at its next start" in report.problem


async def test_a_chain_whose_anchors_were_all_deleted_is_reported_from_row_1(
    chain12: Path,
) -> None:
    tamper(chain12, ("DELETE FROM audit_anchors", ()))
    now = later(chain12, EVERY_S + UNANCHORED_MARGIN_S + 1)
    report = await verify_chain(chain12, KEY, anchor_every_s=EVERY_S, now=now)
    assert (report.ok, report.first_broken_seq, report.anchors_checked) == (False, 1, 0)


async def test_the_interval_comes_from_the_setting(chain12: Path) -> None:
    tamper(chain12, ("DELETE FROM audit_anchors WHERE anchor_seq = 3", ()))
    now = later(chain12, 3600)
    stale = await verify_chain(chain12, KEY, anchor_every_s=EVERY_S, now=now)
    assert (stale.ok, stale.first_broken_seq) == (False, 11)
    relaxed = await verify_chain(chain12, KEY, anchor_every_s=7200, now=now)
    assert relaxed.ok


async def test_rows_left_by_a_crash_verify_once_the_next_start_anchored_them(db: Path) -> None:
    await write_rows(db, 3)
    tamper(db, ("DELETE FROM audit_anchors", ()))  # as if the process had died before close
    now = later(db, 3600)
    assert not (await verify_chain(db, KEY, anchor_every_s=EVERY_S, now=now)).ok
    await write_rows(db, 0)  # the next start anchors what it found unanchored
    assert await verify_chain(db, KEY, anchor_every_s=EVERY_S, now=now) == VerifyReport(
        True, 3, 1, None, ""
    )


async def test_cli_reports_the_unanchored_rows(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    await migrate(db)
    await write_rows(db, 4)
    # The CLI reads the real clock: move the rows back in time (rehashed, so the chain itself
    # still verifies) and drop the anchors, as a cut tail would leave them.
    prev, rebuilt = GENESIS, []
    for row in read(db):
        row = rehashed(row, occurred_at="2000-01-01T00:00:00.000000Z", prev_hash=prev)
        prev = row["row_hash"]
        rebuilt.append(insert_row(row))
    tamper(
        db,
        ("DELETE FROM audit_anchors", ()),
        ("DELETE FROM audit_events", ()),
        *rebuilt,
    )
    ran = await run_cli(
        "audit",
        "verify",
        data_dir=tmp_path,
        env={"CONNECTOR_GATEWAY_AUDIT__ANCHOR_KEY": KEY.decode()},
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "audit chain BROKEN at row 1: row 1 (written at 2000-01-01T00:00:00.000000Z)" in (
        ran.stdout
    )
    assert "anchors are missing" in ran.stdout
