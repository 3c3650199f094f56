"""Opening the embedded SQLite database and applying its versioned migrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Literal

import aiosqlite

log = logging.getLogger(__name__)

Durability = Literal["FULL", "NORMAL"]


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("gateway.store.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql"):
            found.append((int(name.split("_", 1)[0]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def connect(path: Path, *, durability: Durability = "FULL") -> aiosqlite.Connection:
    """A connection in WAL mode.

    ``FULL`` makes every commit survive power loss, not only a process crash; the audit
    writer uses it. Stores whose loss on power failure is harmless (health state) use
    ``NORMAL``, which skips the fsync of each commit.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute(f"PRAGMA synchronous={durability}")
    await conn.execute("PRAGMA busy_timeout=10000")
    await conn.execute("PRAGMA foreign_keys=ON")
    return conn


async def migrate(path: Path) -> int:
    """Applies pending migrations in order, each in its own transaction; returns the version."""
    conn = await connect(path)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL "
            "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
        )
        async with conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for version, name, sql in _migrations():
            if version <= current:
                continue
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in sql.split(";\n"):
                    if statement.strip():
                        await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
                )
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            log.info("applied migration %s", name)
            current = version
        return current
    finally:
        await conn.close()


class SerializedConnection:
    """One connection shared by concurrent coroutines: its transactions never interleave.

    ``transaction()`` is BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error) under the lock;
    ``lock`` alone guards reads that must not run inside another coroutine's transaction.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self.lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")
