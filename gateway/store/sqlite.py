"""The embedded SQLite database: its connections, its migrations, and the unit of work.

Statements run on the event loop's own thread: SQLite answers a statement on a page already
in memory in microseconds, far less than handing it to another thread and waking the loop
again. Only what waits on the disk leaves the loop: the ``COMMIT`` that makes a batch durable
(an fsync with ``synchronous=FULL``), run on the connection's own worker thread, and a
``BEGIN IMMEDIATE`` that has to wait for another process to release the write lock.

Writes of every store share one connection (``Database.writes``): units of work queued while
one batch commits join the next, and one commit (one fsync, one wake-up of the loop) makes a
whole batch durable. Reads that change nothing use a connection of their own
(``Database.reads``) and never wait for a commit: in WAL mode a reader sees the last
committed state while a writer works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from gateway.to_the_end import to_the_end

log = logging.getLogger(__name__)

Durability = Literal["FULL", "NORMAL"]
Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000  # how long a write waits for another process's write lock

# SQLite's own checkpoints run inside the COMMIT that crosses their threshold: the callers of
# that commit wait for a copy of the WAL into the database and its fsync, and a commit on the
# loop's thread would block the loop for it. The write connection turns them off and
# checkpoints on its worker once this many rows have changed since the last checkpoint (a few
# MiB of WAL for the stores' rows, as SQLite's default), after the commit's callers have their
# answer and before the next body: under the write lock, so that no frame is appended
# meanwhile and the next transaction starts the WAL over (a checkpoint beside a running writer
# never finishes, and the WAL would grow without end). The WAL's file keeps its size once
# grown: counting changes, not bytes, says how much it holds.
CHECKPOINT_AFTER_CHANGES = 500

# A commit that holds at most this many bodies, with no other body waiting for the lock, while
# the process is quiet (``SerializedConnection.quiet``: one call under way at most), runs on
# the loop's thread: with nobody to batch with, handing the fsync to the worker and waking the
# loop for its end costs more CPU than the fsync blocks the loop. Under load the worker
# commits, and what arrives during its fsync joins the next batch. When commits on the loop
# take INLINE_SLOW_S on average (a moving average: a slow or busy disk, not one late fsync),
# commits go to the worker for INLINE_BACKOFF_S, so that a slow disk never stalls the loop
# for long.
INLINE_MAX_BODIES = 2
INLINE_SLOW_S = 0.002
INLINE_AVERAGE_WEIGHT = 0.1  # of the latest commit in the moving average
INLINE_BACKOFF_S = 30.0


class Cursor:
    """A statement's result, in the shape the stores read it: awaited, or used with
    ``async with`` (the statement has already run when either happens)."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Row | None:
        row: Row | None = self._cursor.fetchone()
        return row

    async def fetchall(self) -> list[Row]:
        return list(self._cursor.fetchall())

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._itself().__await__()

    async def _itself(self) -> Cursor:
        return self

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()


class Connection:
    """One SQLite connection whose statements run on the loop's thread, and whose waits on
    the disk or on another process run on a worker thread of its own."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return Cursor(self._conn.execute(sql, params))

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor:
        return Cursor(self._conn.executemany(sql, rows))

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def set_trace_callback(self, trace: Callable[[str], object] | None) -> None:
        """Calls ``trace`` with each statement as it runs (tests count reads with it)."""
        self._conn.set_trace_callback(trace)

    @property
    def total_changes(self) -> int:
        """Rows changed through this connection since it opened."""
        return self._conn.total_changes

    def commit_here(self) -> None:
        """COMMIT on the calling (the loop's) thread: it blocks for the fsync."""
        _commit(self._conn)

    async def on_worker(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Runs ``work`` on the worker thread; cancelling the caller abandons only its wait."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, work, self._conn)

    async def off_loop(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Runs ``work`` on the worker thread, and the caller waits for it to end even when
        cancelled meanwhile (a BEGIN that must be known to have happened, a close)."""
        return await to_the_end(self.on_worker(work))

    async def close(self) -> None:
        await self.off_loop(lambda conn: conn.close())
        self._worker.shutdown(wait=False)


def _open(path: Path, durability: Durability) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit: transactions are begun and ended explicitly. Statements run on the loop's
    # thread and commits on the connection's worker, one at a time (the stores see to it).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={durability}")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


async def connect(path: Path, *, durability: Durability = "FULL") -> Connection:
    """A connection in WAL mode.

    ``FULL`` makes every commit survive power loss, not only a process crash; the audit
    trail, the ledger and the approvals use it. Stores whose loss on power failure is
    harmless (health state) use ``NORMAL``, which skips the fsync of each commit.
    """
    return Connection(await asyncio.to_thread(_open, path, durability))


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("gateway.store.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql"):
            found.append((int(name.split("_", 1)[0]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _migrate(path: Path) -> int:
    conn = _open(path, "FULL")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL "
            "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
        current = int(row[0]) if row else 0
        for version, name, sql in _migrations():
            if version <= current:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in sql.split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            log.info("applied migration %s", name)
            current = version
        return current
    finally:
        conn.close()


async def migrate(path: Path) -> int:
    """Applies pending migrations in order, each in its own transaction; returns the version."""
    return await asyncio.to_thread(_migrate, path)


def _begin_waiting(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute("PRAGMA busy_timeout=0")


def _commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


class UnitOfWork:
    """The changes of one phase of one call, made durable together.

    A store given a unit keeps its body in the shared transaction and returns at once; the
    call awaits ``durable()`` once, before it acts on what it wrote (before the vendor is
    called, before it answers). Bodies kept one after another without yielding to the loop
    share one commit: the phase is one transaction.
    """

    def __init__(self) -> None:
        self._pending: list[asyncio.Future[None]] = []

    def keep(self, committed: asyncio.Future[None]) -> None:
        self._pending.append(committed)
        self.last = committed

    last: asyncio.Future[None] | None = None  # the commit of the body kept last

    async def durable(self) -> None:
        """Returns once everything kept so far is committed; raises a failed commit's error
        (what the unit kept in that commit is lost, as with a failed transaction)."""
        pending, self._pending = self._pending, []
        for committed in pending:
            await committed


class SerializedConnection:
    """One write connection shared by concurrent coroutines, with group commit.

    Each ``transaction()`` body runs alone under the lock, inside a savepoint of a shared
    BEGIN IMMEDIATE transaction; the bodies that queue up while one runs or while a commit
    is on the disk join the same transaction, and one COMMIT (one fsync with
    ``synchronous=FULL``, run off the loop) makes them all durable. A caller returns only once
    the COMMIT holding its changes has returned; a body that fails is rolled back to its
    savepoint alone. A body's statements run on the loop's thread, so a body that awaits
    nothing else is never cut half-way by a cancellation.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()
        self.commits = 0
        self.checkpoints = 0
        self._changes_at_checkpoint = 0
        # Whether the process is quiet enough to commit on the loop's thread: the gateway
        # says so while one call at most is under way; by default, never.
        self.quiet: Callable[[], bool] = lambda: False
        # Counts the shared transactions begun: what a body learned in one (the audit chain's
        # head) holds only while the same one is open.
        self.generation = 0
        self._open = False
        self._savepoint = False  # whether the body under way has a savepoint of its own
        self._in_body = False
        self._pending: list[asyncio.Future[None]] = []
        self._committer: asyncio.Task[None] | None = None
        self._waiting = 0  # bodies waiting for the lock
        self._inline_from = 0.0  # monotonic time from which a lone commit may run on the loop
        self._inline_average_s = 0.0  # how long commits on the loop take, on average
        self.inline_commits = 0
        # The write lock is taken without waiting on the loop's thread; when another
        # process holds it, the wait happens on the worker.
        conn.execute("PRAGMA busy_timeout=0")

    @asynccontextmanager
    async def transaction(self, unit: UnitOfWork | None = None) -> AsyncIterator[Connection]:
        """A body of the shared transaction. Without ``unit`` the caller returns once it is
        durable; with one it returns at once and the unit awaits the commit."""
        self._waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self._waiting -= 1
        try:
            try:
                await self._enter_body()
                yield self.conn
            except BaseException:
                if self._in_body:
                    self._leave_body(keep=False)
                elif self._open:
                    self._commit_soon()
                raise
            committed = self._leave_body(keep=True)
        finally:
            self.lock.release()
        if unit is not None:
            unit.keep(committed)
            return
        # Durable before the caller goes on. A caller that goes away cancels only its wait:
        # the commit belongs to the committer task, which commits the body all the same.
        await committed

    async def _enter_body(self) -> None:
        if not self._open:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                try:  # another process is writing: wait for it off the loop
                    await self.conn.off_loop(_begin_waiting)
                finally:  # the BEGIN runs to its end even if this caller is cancelled
                    self._open = self.conn.in_transaction
                    self.generation += 1
            else:
                self.generation += 1
            self._open = True
            # The transaction holds this body alone: a failure rolls it all back, so the body
            # needs no savepoint of its own (two statements fewer on every quiet call).
            self._savepoint = False
        else:
            self.conn.execute("SAVEPOINT body")
            self._savepoint = True
        self._in_body = True

    def _leave_body(self, *, keep: bool) -> asyncio.Future[None]:
        """Keeps the body's changes for the next commit (the future resolves once it is
        durable), or rolls them back."""
        if not self.conn.in_transaction:
            # SQLite rolled the whole transaction back itself (a full disk, say): what the
            # bodies before this one kept is lost with it.
            self._open = False
            self._fail_pending(sqlite3.OperationalError("the transaction was rolled back"))
        elif self._savepoint:
            if not keep:
                self.conn.execute("ROLLBACK TO body")
            self.conn.execute("RELEASE body")
        elif not keep:
            self.conn.execute("ROLLBACK")  # nothing else is in the transaction
            self._open = False
        self._in_body = False
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if keep:
            self._pending.append(committed)
        else:
            committed.set_result(None)
        self._commit_soon()
        return committed

    def _fail_pending(self, error: Exception) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            if not future.done():
                future.set_exception(error)

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
                if self._alone(len(pending)):
                    self._commit_on_loop()
                else:
                    # This task is the commit's own: no caller's cancellation reaches it.
                    await self.conn.on_worker(_commit)
            except Exception as error:
                log.exception("commit failed; %d transaction(s) lost", len(pending))
                with contextlib.suppress(Exception):
                    self.conn.execute("ROLLBACK")
                for future in pending:
                    if not future.done():
                        future.set_exception(error)
                return
            self.commits += 1
            for future in pending:
                if not future.done():
                    future.set_result(None)
            if self.conn.total_changes - self._changes_at_checkpoint >= CHECKPOINT_AFTER_CHANGES:
                await self._checkpoint()

    async def _checkpoint(self) -> None:
        self._changes_at_checkpoint = self.conn.total_changes
        try:
            await self.conn.on_worker(_checkpoint)
        except Exception:
            log.exception("checkpointing the database failed; the next one tries again")
        else:
            self.checkpoints += 1

    def _alone(self, bodies: int) -> bool:
        return (
            bodies <= INLINE_MAX_BODIES
            and self._waiting == 0
            and self.quiet()
            and time.monotonic() >= self._inline_from
        )

    def _commit_on_loop(self) -> None:
        started = time.monotonic()
        try:
            self.conn.commit_here()
        finally:
            took = time.monotonic() - started
            average = self._inline_average_s
            average += INLINE_AVERAGE_WEIGHT * (took - average)
            if average > INLINE_SLOW_S:
                self._inline_from = started + took + INLINE_BACKOFF_S
                log.info(
                    "commits take %.1f ms on average: committing on the worker thread for %d s",
                    average * 1000,
                    INLINE_BACKOFF_S,
                )
                average = 0.0
            self._inline_average_s = average
        self.inline_commits += 1

    async def drain(self) -> None:
        """Waits for the commit under way, if any: nothing kept is left uncommitted."""
        while self._committer is not None and not self._committer.done():
            await asyncio.shield(self._committer)


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


@dataclass
class Database:
    """The stores' database: one write connection with group commit, one for reads."""

    writes: SerializedConnection
    reads: Connection

    @classmethod
    async def open(cls, path: Path) -> Database:
        writes = await connect(path, durability="FULL")
        try:
            reads = await connect(path, durability="FULL")
        except BaseException:
            await writes.close()
            raise
        writes.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints off the commits
        return cls(SerializedConnection(writes), reads)

    async def close(self) -> None:
        await self.writes.drain()
        for conn in (self.reads, self.writes.conn):
            try:
                await conn.close()
            except Exception:
                log.exception("closing a database connection failed")
