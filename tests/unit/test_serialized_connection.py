"""The database's unit of work on a real SQLite file: bodies share one durable commit, a
failing body is undone alone, a caller that goes away cannot undo what it kept, and waiting
for the disk or for another process never holds up the event loop or the readers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store.sqlite import Database, SerializedConnection


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Path, Database]]:
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT NOT NULL)")
    db = await Database.open(path)
    try:
        yield path, db
    finally:
        await db.close()


async def add_note(store: SerializedConnection, text: str) -> None:
    async with store.transaction() as conn:
        await conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))


def notes(path: Path) -> list[str]:
    """What another connection (another process) sees: committed rows only."""
    with sqlite3.connect(path) as conn:
        return [text for (text,) in conn.execute("SELECT text FROM notes ORDER BY rowid")]


async def test_bodies_waiting_together_share_one_commit_and_return_once_durable(
    database: tuple[Path, Database],
) -> None:
    path, db = database
    before = db.writes.commits
    await asyncio.gather(*(add_note(db.writes, f"note {i}") for i in range(50)))
    assert notes(path) == [f"note {i}" for i in range(50)]
    # One commit for the body that opened the transaction, one for those that queued behind.
    assert db.writes.commits - before <= 3


async def test_a_failing_body_is_undone_alone(database: tuple[Path, Database]) -> None:
    path, db = database

    async def failing() -> None:
        async with db.writes.transaction() as conn:
            await conn.execute("INSERT INTO notes (text) VALUES ('undone')")
            raise ValueError("the body fails")

    results = await asyncio.gather(
        add_note(db.writes, "kept 1"),
        failing(),
        add_note(db.writes, "kept 2"),
        return_exceptions=True,
    )
    assert [type(r) for r in results] == [type(None), ValueError, type(None)]
    assert notes(path) == ["kept 1", "kept 2"]


async def test_a_caller_cancelled_while_its_commit_is_on_the_disk_keeps_its_row(
    database: tuple[Path, Database],
) -> None:
    path, db = database
    caller = asyncio.create_task(add_note(db.writes, "kept"))
    await asyncio.sleep(0)  # the body has run; its caller waits for the commit
    assert db.writes.conn.in_transaction
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await db.writes.drain()
    assert notes(path) == ["kept"]
    await add_note(db.writes, "after")  # the connection is still usable
    assert notes(path) == ["kept", "after"]


async def test_waiting_for_another_process_holds_up_neither_the_loop_nor_readers(
    database: tuple[Path, Database],
) -> None:
    path, db = database
    await add_note(db.writes, "committed")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        writer = asyncio.create_task(add_note(db.writes, "waited"))
        cancelled = asyncio.create_task(add_note(db.writes, "cancelled while waiting"))
        await asyncio.sleep(0)
        # The loop runs on, and reads answer from the last committed state.
        async with db.reads.execute("SELECT text FROM notes ORDER BY rowid") as cur:
            assert [row[0] for row in await cur.fetchall()] == ["committed"]
        assert not writer.done()
        cancelled.cancel()
    finally:
        other.execute("ROLLBACK")
        other.close()
    await writer
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await db.writes.drain()
    assert notes(path) == ["committed", "waited"]
    await add_note(db.writes, "after")
    assert notes(path) == ["committed", "waited", "after"]


async def test_a_failing_body_that_began_the_transaction_leaves_nothing_behind(
    database: tuple[Path, Database],
) -> None:
    path, db = database

    async def failing() -> None:
        async with db.writes.transaction() as conn:
            await conn.execute("INSERT INTO notes (text) VALUES ('undone')")
            raise ValueError("the body fails")

    with pytest.raises(ValueError, match="the body fails"):
        await failing()
    assert not db.writes.conn.in_transaction
    await add_note(db.writes, "after")
    assert notes(path) == ["after"]
