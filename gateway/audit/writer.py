"""The one serialized writer of audit rows: hash chain, group commit and keyed anchors."""

from __future__ import annotations

import asyncio
import logging
import math
import operator
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.audit.chain import COLUMNS, GENESIS, Anchor, EventJson, anchor_mac
from gateway.audit.record import AuditEvent, Outcome, StoredEvent
from gateway.canonical import canonical_json
from gateway.clock import to_text, utc_now
from gateway.settings import AuditSettings
from gateway.store.sqlite import Connection, Database, UnitOfWork

log = logging.getLogger(__name__)

_INSERT_EVENT = (
    f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
_in_column_order = operator.itemgetter(*COLUMNS)  # a row's values, as _INSERT_EVENT takes them
_INSERT_ANCHOR = (
    "INSERT INTO audit_anchors (anchor_seq, event_seq, row_hash, anchored_at, mac) "
    "VALUES (?, ?, ?, ?, ?)"
)
_TEXT_FIELDS = (
    "event_type",
    "tenant",
    "caller",
    "rpc_method",
    "connector_key",
    "operation",
    "execution_id",
    "idempotency_key",
    "payload_digest",
    "status_code",
    "reason",
    "trace_id",
)


def _consume(future: asyncio.Future[StoredEvent]) -> None:
    if not future.cancelled():
        future.exception()


@dataclass(frozen=True)
class _Pending:
    columns: dict[str, Any]  # every column except those the writer assigns
    future: asyncio.Future[StoredEvent]
    event_json: EventJson  # the columns' canonical JSON, made once, for the row hash


def _event_columns(event: AuditEvent) -> dict[str, Any]:
    """The event's column values, exactly as they will be stored and read back.

    Types are checked rather than coerced: SQLite's column affinity would silently turn, say,
    ``True`` into ``1``, and the row read back would no longer match the hash written.
    """
    columns: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = getattr(event, name)
        if not isinstance(value, str):
            raise TypeError(f"audit event field {name} must be a str, not {type(value).__name__}")
        columns[name] = value
    if isinstance(event.attempts, bool) or not isinstance(event.attempts, int):
        raise TypeError("audit event field attempts must be an int")
    if isinstance(event.latency_ms, bool) or not isinstance(event.latency_ms, int | float):
        raise TypeError("audit event field latency_ms must be a float")
    if not math.isfinite(event.latency_ms):
        raise ValueError("audit event field latency_ms must be finite")
    columns["attempts"] = event.attempts
    columns["latency_ms"] = float(event.latency_ms)  # the REAL column reads back a float
    columns["outcome"] = Outcome(event.outcome).value
    columns["payload_redacted"] = canonical_json(dict(event.payload_redacted)).decode("utf-8")
    columns["detail"] = canonical_json(dict(event.detail)).decode("utf-8")
    return columns


class AuditWriter:
    """Appends audit events to the hash chain; the only writer of audit rows.

    Events are queued and written by one background task, in batches that share one
    transaction (group commit). ``append`` returns only after the COMMIT containing the row
    has returned on a ``synchronous=FULL`` connection, so a returned row survives power loss.
    """

    def __init__(
        self, database: Path | Database, settings: AuditSettings, anchor_key: bytes
    ) -> None:
        if not anchor_key:
            raise ValueError("the audit anchor key must not be empty")
        # Given a path, the writer opens the database and owns it; given the gateway's
        # database, its rows commit together with the other stores' changes.
        self._target = database
        self._settings = settings
        self._key = anchor_key
        self._db: Database | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: deque[_Pending] = deque()
        self._in_flight: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._last: asyncio.Future[StoredEvent] | None = None
        self._commits = 0
        # The last row this writer linked in the open shared transaction: (transaction
        # generation, seq, hash). Within that transaction no one else appends, so the next row
        # links to it without reading the head again.
        self._tail: tuple[int, int, str] | None = None
        # Chain head and anchor state; reloaded from the database after a failed batch.
        self._head_known = False
        self._head_seq = 0
        self._head_hash = GENESIS
        self._anchor_seq = 0
        self._anchored_event_seq = 0
        self._anchor_due_at = math.inf  # time.monotonic() by which unanchored rows get one

    @property
    def commits(self) -> int:
        """Transactions committed so far (batches and anchor-only writes)."""
        return self._commits

    async def start(self) -> None:
        """Reads the chain head and starts the background writer."""
        if self._db is not None or self._closing:
            raise RuntimeError("the audit writer was already started")
        target = self._target
        db = await Database.open(target) if isinstance(target, Path) else target
        self._db = db
        try:
            await self._load_head(db.reads)
            await self._check_head_against_anchor(db.reads)
        except BaseException:
            self._db = None
            if isinstance(target, Path):
                await db.close()
            raise
        # Rows left unanchored by a previous process (a crash) are anchored right away.
        unanchored = self._head_seq > self._anchored_event_seq
        self._anchor_due_at = time.monotonic() + (
            0 if unanchored else self._settings.anchor_every_s
        )
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    def submit(self, event: AuditEvent) -> asyncio.Future[StoredEvent]:
        """Queues ``event`` at once and returns the future resolved when its row is durable.

        Synchronous, so the event is queued even if the caller's task is cancelled before it
        ever runs. Raises TypeError or ValueError if the event cannot be stored faithfully.
        """
        if self._task is None or self._closing:
            raise RuntimeError("the audit writer is not running")
        columns = _event_columns(event)
        # Fails now, for this caller alone, on anything the row hash could not encode.
        event_json = EventJson.of(columns)
        future: asyncio.Future[StoredEvent] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(columns, future, event_json))
        self._last = future
        self._wakeup.set()
        return future

    async def append(self, event: AuditEvent) -> StoredEvent:
        """Appends ``event``; returns once the COMMIT containing its row has returned.

        The event is queued before the first await, and cancelling the caller does not
        cancel the write. (A task made from this coroutine and cancelled before it first
        runs never calls it at all; use ``submit`` where that matters.)
        """
        future = self.submit(event)
        return await asyncio.shield(future)

    async def record(self, event: AuditEvent, unit: UnitOfWork) -> StoredEvent:
        """Writes ``event``'s row in ``unit``: in the same transaction as the other changes of
        the call's phase, durable when the unit is. A caller cancelled before its row was
        written has it written by the background writer instead, so no row is lost."""
        db = self._db
        if self._task is None or self._closing or db is None:
            raise RuntimeError("the audit writer is not running")
        columns = _event_columns(event)
        event_json = EventJson.of(columns)  # fails now, for this caller alone
        try:
            async with db.writes.transaction(unit) as conn:
                rows, seq, _ = await self._chain(conn, [(columns, event_json)], anchors=False)
        except BaseException as error:
            self._tail = None
            if not isinstance(error, asyncio.CancelledError):
                raise
            late: asyncio.Future[StoredEvent] = asyncio.get_running_loop().create_future()
            late.add_done_callback(_consume)  # nobody waits for it; a failure is logged
            self._pending.append(_Pending(columns, late, event_json))
            self._wakeup.set()
            raise error
        # Anchors are the background writer's: it anchors rows written here once they count.
        self._head_seq = max(self._head_seq, seq)
        if seq - self._anchored_event_seq >= self._settings.anchor_every_rows:
            self._wakeup.set()
        return StoredEvent(seq=rows[0]["seq"], event_id=rows[0]["event_id"])

    async def flush(self) -> None:
        """Waits until every event queued so far has been committed or has failed."""
        last = self._last
        if last is not None and not last.done():
            # asyncio.wait, unlike awaiting the future, never cancels it nor raises its error.
            await asyncio.wait([last])

    async def close(self) -> None:
        """Drains the queue, writes a final anchor and closes the connection; never raises."""
        self._closing = True
        self._wakeup.set()
        task = self._task
        if task is None:
            return
        try:
            # Shielded: cancelling close() must not cut the drain short.
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # close() itself was cancelled; the drain continues in the background
            log.error("the audit writer task was cancelled before close")
        except Exception:
            log.exception("the audit writer failed while closing")

    async def _run(self) -> None:
        try:
            await self._serve()
            if self._head_seq > self._anchored_event_seq:
                await self._write([], force_anchor=True)
        except Exception:
            log.exception("the audit writer stopped unexpectedly")
        finally:
            self._closing = True  # refuse new events: nothing would write them
            leftovers = self._in_flight + list(self._pending)
            self._in_flight = []
            self._pending.clear()
            for item in leftovers:
                if not item.future.done():
                    item.future.set_exception(RuntimeError("the audit writer stopped"))
            if isinstance(self._target, Path) and self._db is not None:
                await self._db.close()

    async def _serve(self) -> None:
        while True:
            if self._pending:
                count = min(len(self._pending), self._settings.max_batch)
                await self._write([self._pending.popleft() for _ in range(count)])
                continue
            if self._closing:
                return
            now = time.monotonic()
            unanchored = self._head_known and self._head_seq > self._anchored_event_seq
            many = self._head_seq - self._anchored_event_seq >= self._settings.anchor_every_rows
            if unanchored and (many or now >= self._anchor_due_at):
                # Rows written in calls' own transactions, or idle with unanchored rows:
                # anchor them without waiting for the next batch.
                await self._write([])
                continue
            self._wakeup.clear()
            timeout = self._anchor_due_at - now if unanchored else None
            try:
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    async def _write(self, batch: list[_Pending], *, force_anchor: bool = False) -> None:
        """Writes ``batch`` (and an anchor when due) in one unit of work, then resolves it.

        The chain head is read inside the write transaction (BEGIN IMMEDIATE holds SQLite's
        write lock), so another gateway process appending to the same database meanwhile
        cannot fork the chain: each batch links to whatever was committed last."""
        db = self._db
        if db is None:
            raise RuntimeError("the audit writer is not started")
        self._in_flight = batch
        anchor: Anchor | None = None
        rows: list[dict[str, Any]] = []
        seq, prev = self._head_seq, self._head_hash
        try:
            async with db.writes.transaction() as conn:
                rows, seq, prev = await self._chain(
                    conn, [(item.columns, item.event_json) for item in batch]
                )
                unanchored = seq - self._anchored_event_seq
                if unanchored > 0 and (
                    force_anchor
                    or unanchored >= self._settings.anchor_every_rows
                    or time.monotonic() >= self._anchor_due_at
                ):
                    anchor = self._make_anchor(seq, prev)
                if anchor is not None:
                    await conn.execute(
                        _INSERT_ANCHOR,
                        (
                            anchor.anchor_seq,
                            anchor.event_seq,
                            anchor.row_hash,
                            anchor.anchored_at,
                            anchor.mac,
                        ),
                    )
        except Exception as exc:
            self._tail = None  # the body's rows, if any, were rolled back
            log.exception("writing %d audit rows failed; the batch was rolled back", len(batch))
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            self._in_flight = []
            if anchor is not None or not batch:
                # Do not retry a failing anchor-only write in a tight loop.
                self._anchor_due_at = time.monotonic() + self._settings.anchor_every_s
            self._head_known = False
            try:
                await self._load_head(db.reads)
            except Exception:
                log.exception("reloading the audit chain head failed; retrying with next batch")
            return
        self._in_flight = []
        self._commits += 1
        self._head_seq, self._head_hash = seq, prev
        if anchor is not None:
            self._anchor_seq = anchor.anchor_seq
            self._anchored_event_seq = anchor.event_seq
            self._anchor_due_at = time.monotonic() + self._settings.anchor_every_s
            # Logged so that a copy outside the database can expose a cut tail (see verify).
            log.info(
                "audit anchor %d: event_seq=%d row_hash=%s anchored_at=%s mac=%s",
                anchor.anchor_seq,
                anchor.event_seq,
                anchor.row_hash,
                anchor.anchored_at,
                anchor.mac,
            )
        for item, row in zip(batch, rows, strict=True):
            if not item.future.done():
                item.future.set_result(StoredEvent(seq=row["seq"], event_id=row["event_id"]))

    async def _chain(
        self,
        conn: Connection,
        batch: list[tuple[dict[str, Any], EventJson]],
        *,
        anchors: bool = True,
    ) -> tuple[list[dict[str, Any]], int, str]:
        """Inside a write transaction: links rows for ``batch`` to the chain head as stored
        and inserts them; returns them with the new head's seq and hash."""
        generation = self._generation()
        tail = self._tail
        if not anchors and tail is not None and tail[0] == generation:
            seq, prev = tail[1], tail[2]
        else:
            await self._load_head(conn, anchors=anchors)
            seq, prev = self._head_seq, self._head_hash
        rows: list[dict[str, Any]] = []
        for columns, event_json in batch:
            seq += 1
            row: dict[str, Any] = {
                **columns,
                "seq": seq,
                "event_id": uuid.uuid4().hex,
                "occurred_at": to_text(utc_now()),
                "prev_hash": prev,
            }
            prev = row["row_hash"] = event_json.row_hash(row)
            rows.append(row)
        if rows:
            await conn.executemany(_INSERT_EVENT, [_in_column_order(row) for row in rows])
        self._tail = (generation, seq, prev)
        return rows, seq, prev

    def _generation(self) -> int:
        return self._db.writes.generation if self._db is not None else -1

    def _make_anchor(self, event_seq: int, head_hash: str) -> Anchor:
        anchor_seq = self._anchor_seq + 1
        anchored_at = to_text(utc_now())
        mac = anchor_mac(self._key, anchor_seq, event_seq, head_hash, anchored_at)
        return Anchor(anchor_seq, event_seq, head_hash, anchored_at, mac)

    async def _load_head(self, conn: Connection, *, anchors: bool = True) -> None:
        """Reads the chain head, and with ``anchors`` the last anchor (only this writer writes
        anchors, and it reads them again in each of its own transactions)."""
        async with conn.execute(
            "SELECT seq, row_hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ) as cur:
            head = await cur.fetchone()
        self._head_seq, self._head_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
        if not anchors:
            return
        async with conn.execute(
            "SELECT anchor_seq, event_seq FROM audit_anchors ORDER BY anchor_seq DESC LIMIT 1"
        ) as cur:
            last_anchor = await cur.fetchone()
        self._anchor_seq, self._anchored_event_seq = (
            (int(last_anchor[0]), int(last_anchor[1])) if last_anchor else (0, 0)
        )
        self._head_known = True

    async def _check_head_against_anchor(self, conn: Connection) -> None:
        """Logs an error if the last anchor already disagrees with the stored chain.

        Cheap (one row); the full check is verify_chain. The writer keeps going regardless:
        refusing to audit would not repair the damage, and new rows are still chained.
        """
        async with conn.execute(
            "SELECT a.anchor_seq, a.event_seq, a.row_hash, e.row_hash FROM audit_anchors a "
            "LEFT JOIN audit_events e ON e.seq = a.event_seq ORDER BY a.anchor_seq DESC LIMIT 1"
        ) as cur:
            last = await cur.fetchone()
        if last is not None and last[2] != last[3]:
            log.error(
                "audit anchor %d vouches for row %d, which is %s: the audit trail was cut or "
                "rewritten; run verify_chain",
                last[0],
                last[1],
                "missing" if last[3] is None else "different",
            )
