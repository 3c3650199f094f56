"""Opening the embedded SQLite database and applying its versioned migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Literal

import aiosqlite

from gateway.to_the_end import to_the_end

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
    """One connection shared by concurrent coroutines, with group commit.

    Each ``transaction()`` body runs alone under the lock, inside a savepoint of a shared
    BEGIN IMMEDIATE transaction; the bodies that queue up while one runs join the same
    transaction, and one COMMIT (one fsync with ``synchronous=FULL``) makes them all durable.
    A caller returns only once the COMMIT holding its changes has returned; a body that fails
    is rolled back to its savepoint alone. ``lock`` guards reads that must not run in the
    middle of a body.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()
        self.commits = 0
        self._open = False
        self._in_body = False
        self._pending: list[asyncio.Future[None]] = []
        self._committer: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self.lock:
            # Entering and leaving a body run to their end even when the caller is cancelled
            # meanwhile: aiosqlite runs a queued statement regardless, and a transaction
            # SQLite holds open unknown to this object would refuse every later BEGIN.
            try:
                await to_the_end(self._enter_body())
                yield self.conn
            except BaseException:
                if self._in_body:
                    await to_the_end(self._leave_body(keep=False))
                elif self._open:
                    self._commit_soon()
                raise
            committed = await to_the_end(self._leave_body(keep=True))
        # Durable before the caller goes on; a caller that goes away cannot stop the commit.
        await asyncio.shield(committed)

    async def _enter_body(self) -> None:
        if not self._open:
            await self.conn.execute("BEGIN IMMEDIATE")
            self._open = True
        await self.conn.execute("SAVEPOINT body")
        self._in_body = True

    async def _leave_body(self, *, keep: bool) -> asyncio.Future[None]:
        """Keeps the body's changes for the next commit (the future resolves once it is
        durable), or rolls them back."""
        if not keep:
            await self.conn.execute("ROLLBACK TO body")
        await self.conn.execute("RELEASE body")
        self._in_body = False
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if keep:
            self._pending.append(committed)
        else:
            committed.set_result(None)
        self._commit_soon()
        return committed

    def _commit_soon(self) -> None:
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit())

    async def _commit(self) -> None:
        await asyncio.sleep(0)  # bodies already waiting for the lock join this transaction
        async with self.lock:
            if not self._open:
                return
            pending, self._pending = self._pending, []
            self._open = False
            try:
                await self.conn.execute("COMMIT")
            except Exception as error:
                log.exception("commit failed; %d transaction(s) lost", len(pending))
                with contextlib.suppress(Exception):
                    await self.conn.execute("ROLLBACK")
                for future in pending:
                    if not future.done():
                        future.set_exception(error)
                return
            self.commits += 1
            for future in pending:
                if not future.done():
                    future.set_result(None)
