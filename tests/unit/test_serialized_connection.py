"""The shared store connection stays usable when a caller is cancelled at any point of its
transaction (its caller went away, or a deadline's backstop fired): on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from gateway.store.sqlite import SerializedConnection, connect


class Watched:
    """A real aiosqlite connection that tells when each statement is handed to it."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self.handed: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def execute(self, sql: str, *args: Any) -> Any:
        self.handed[sql].set()
        return self._conn.execute(sql, *args)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Path, Watched]]:
    path = tmp_path / "store.db"
    conn = await connect(path)
    await conn.execute("CREATE TABLE notes (text TEXT NOT NULL)")
    try:
        yield path, Watched(conn)
    finally:
        await conn.close()


async def add_note(store: SerializedConnection, text: str) -> None:
    async with store.transaction() as conn:
        await conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))


def notes(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [text for (text,) in conn.execute("SELECT text FROM notes ORDER BY rowid")]


@pytest.mark.parametrize(
    "statement", ["BEGIN IMMEDIATE", "SAVEPOINT body", "INSERT INTO notes (text) VALUES (?)"]
)
async def test_a_caller_cancelled_mid_statement_leaves_the_connection_usable(
    database: tuple[Path, Watched], statement: str
) -> None:
    path, watched = database
    store = SerializedConnection(watched)  # type: ignore[arg-type]  # an aiosqlite connection
    cancelled = asyncio.create_task(add_note(store, "cancelled"))
    async with asyncio.timeout(5):
        await watched.handed[statement].wait()
    cancelled.cancel()  # while it awaits that statement
    with pytest.raises(asyncio.CancelledError):
        await cancelled

    async with asyncio.timeout(5):
        await add_note(store, "next")
    assert notes(path) == ["next"]
