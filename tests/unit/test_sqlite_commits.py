"""Where commits run: on the loop's thread for a call alone, on the worker under load or on a
slow disk; and checkpoints on a connection of their own, never inside a commit."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.interceptors.base import InFlight, run_chain
from gateway.store import sqlite
from gateway.store.sqlite import Database, UnitOfWork, migrate

INSERT = (
    "INSERT INTO gateway_instances (instance_id, host, pid, started_at, lease_until) "
    "VALUES (?, 'host', 1, 'then', 'later')"
)


@pytest.fixture
async def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    # However loaded the machine, commits on the loop never count as slow here (except where a
    # test says otherwise): which thread commits must not depend on the disk's mood.
    monkeypatch.setattr(sqlite, "INLINE_SLOW_S", 60.0)
    path = tmp_path / "gateway.db"
    await migrate(path)
    db = await Database.open(path)
    try:
        yield db
    finally:
        await db.close()


async def write_one(db: Database, instance_id: str) -> None:
    unit = UnitOfWork()
    async with db.writes.transaction(unit) as conn:
        await conn.execute(INSERT, (instance_id,))
    await unit.durable()


def stored(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT instance_id FROM gateway_instances")}


async def test_a_call_alone_commits_on_the_loop_and_its_row_is_durable_when_it_returns(
    database: Database, tmp_path: Path
) -> None:
    database.writes.quiet = lambda: True
    for i in range(5):
        await write_one(database, f"alone-{i}")
        assert f"alone-{i}" in stored(tmp_path / "gateway.db")
    assert database.writes.inline_commits == 5
    assert database.writes.commits == 5


async def test_a_body_kept_alone_and_never_awaited_is_committed_all_the_same(
    database: Database, tmp_path: Path
) -> None:
    database.writes.quiet = lambda: True
    unit = UnitOfWork()
    async with database.writes.transaction(unit) as conn:
        await conn.execute(INSERT, ("kept",))
    for _ in range(100):  # nobody calls unit.durable(): the committer must come all the same
        if "kept" in stored(tmp_path / "gateway.db"):
            break
        await asyncio.sleep(0.01)
    assert "kept" in stored(tmp_path / "gateway.db")
    assert unit.last is not None
    assert unit.last.done()


async def test_without_the_gateway_saying_it_is_quiet_commits_go_to_the_worker(
    database: Database,
) -> None:
    for i in range(3):
        await write_one(database, f"worker-{i}")
    assert database.writes.commits == 3
    assert database.writes.inline_commits == 0


async def test_a_body_waiting_for_the_lock_sends_the_commit_to_the_worker(
    database: Database,
) -> None:
    writes = database.writes
    writes.quiet = lambda: True
    await writes.lock.acquire()  # as a commit under way holds it
    waiting = asyncio.create_task(write_one(database, "waiting"))
    await asyncio.sleep(0)
    assert not writes._alone(1)  # somebody waits: batch with them
    writes.lock.release()
    await waiting
    assert writes._alone(1)


async def test_slow_commits_on_the_loop_send_commits_to_the_worker_for_a_while(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    database.writes.quiet = lambda: True
    monkeypatch.setattr(sqlite, "INLINE_SLOW_S", 0.0)  # every commit counts as slow
    monkeypatch.setattr(sqlite, "INLINE_AVERAGE_WEIGHT", 1.0)
    with caplog.at_level("INFO", logger="gateway.store.sqlite"):
        for i in range(4):
            await write_one(database, f"slow-{i}")
    assert database.writes.inline_commits == 1  # the first; the rest went to the worker
    assert database.writes.commits == 4
    assert "committing on the worker thread for 30 s" in caplog.text


async def test_checkpoints_run_on_the_worker_and_the_wal_starts_over(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "CHECKPOINT_AFTER_CHANGES", 20)
    database.writes.quiet = lambda: True  # commits on the loop: the checkpoint is not
    autocheckpoint = database.writes.conn.execute("PRAGMA wal_autocheckpoint")
    assert (await autocheckpoint.fetchone())[0] == 0  # type: ignore[index]
    path = tmp_path / "gateway.db"
    wal = path.with_name("gateway.db-wal")
    sizes = []
    for i in range(400):
        await write_one(database, f"row-{i}-" + "x" * 2000)
        sizes.append(wal.stat().st_size)
    assert database.writes.checkpoints >= 15
    assert database.writes.inline_commits == 400
    # Each checkpoint lets the next transaction write the WAL from its start: it stops
    # growing after the first rounds, where a checkpoint beside the writer never would.
    assert sizes[-1] == max(sizes[100:])
    assert sizes[-1] < 400 * 2000
    assert len(stored(path)) == 400


async def test_the_chain_counts_the_calls_under_way() -> None:
    in_flight = InFlight()
    inside: list[int] = []
    release = asyncio.Event()

    async def endpoint(call: object, ctx: object) -> object:
        inside.append(in_flight.calls)
        await release.wait()
        return object()

    chain = run_chain([], endpoint, in_flight)  # type: ignore[arg-type]
    first = asyncio.create_task(chain(object(), object()))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert in_flight.alone()
    second = asyncio.create_task(chain(object(), object()))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert inside == [1, 2]
    assert not in_flight.alone()
    release.set()
    await asyncio.gather(first, second)
    assert in_flight.calls == 0
