"""The ledger: executions and idempotency records, changed together in one transaction.

Its connection commits with ``synchronous=FULL``: a reservation must be durable before the
vendor is touched, so that after a crash an in-flight key is known to have an unknown outcome
rather than being run a second time.

A key belongs to a scope within its tenant: the caller that chose it, or the whole tenant
(scope ``""``) for the key of an execution's compensation. A record in flight or of unknown
outcome never expires: the key is held until the call ends or an operator resolves it.
"""

from __future__ import annotations

import enum
import json
import os
import socket
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import from_text, to_text, utc_now
from gateway.paging import Cursor
from gateway.store.sqlite import Connection, Database, Row, UnitOfWork


class RecordState(enum.StrEnum):
    IN_FLIGHT = "in_flight"
    COMPLETED = "completed"
    UNKNOWN = "unknown"  # the call was in flight when its gateway stopped, or timed out


# States whose key never expires: the call may still act, or nobody knows whether it did.
HELD_STATES = (RecordState.IN_FLIGHT.value, RecordState.UNKNOWN.value)


class ExecutionStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    COMPENSATED = "compensated"


# Executions pruned after the retention period; the others are kept for good: an unknown
# outcome waits for an operator, a compensated one replays its compensation forever.
PRUNABLE_STATUSES = (ExecutionStatus.SUCCEEDED.value, ExecutionStatus.FAILED.value)


@dataclass(frozen=True)
class IdempotencyRecord:
    tenant: str
    scope: str
    key: str
    fingerprint: str
    connector_key: str
    operation: str
    execution_id: str
    state: RecordState
    owner: str
    outcome: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Execution:
    execution_id: str
    tenant: str
    caller: str
    connector_key: str
    operation: str
    idempotency_key: str
    status: ExecutionStatus
    result: dict[str, Any]
    attempts: int
    created_at: datetime
    compensation: dict[str, Any]  # the stored answer of its compensation, once compensated
    resolution_note: str


@dataclass(frozen=True)
class NewExecution:
    execution_id: str
    tenant: str
    caller: str
    connector_key: str
    operation: str
    idempotency_key: str
    payload_digest: str
    scope: str  # whose key: the caller's own, or "" for a tenant-wide compensation key


def _record(row: Row) -> IdempotencyRecord:
    return IdempotencyRecord(
        tenant=row["tenant"],
        scope=row["scope"],
        key=row["idempotency_key"],
        fingerprint=row["fingerprint"],
        connector_key=row["connector_key"],
        operation=row["operation"],
        execution_id=row["execution_id"],
        state=RecordState(row["state"]),
        owner=row["owner"],
        outcome=json.loads(row["outcome"]) if row["outcome"] else {},
        created_at=from_text(row["created_at"]),
    )


def _execution(row: Row) -> Execution:
    return Execution(
        execution_id=row["execution_id"],
        tenant=row["tenant"],
        caller=row["caller"],
        connector_key=row["connector_key"],
        operation=row["operation"],
        idempotency_key=row["idempotency_key"],
        status=ExecutionStatus(row["status"]),
        result=json.loads(row["result"]),
        attempts=row["attempts"],
        created_at=from_text(row["created_at"]),
        compensation=json.loads(row["compensation"]) if row["compensation"] else {},
        resolution_note=row["resolution_note"],
    )


_INSERT_RECORD = (
    "INSERT INTO idempotency_records (tenant, scope, idempotency_key, fingerprint, "
    "connector_key, operation, execution_id, state, owner, created_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_RECORD = (
    "SELECT * FROM idempotency_records WHERE tenant = ? AND scope = ? AND idempotency_key = ?"
)


class Ledger:
    """Changes go through the database's shared write connection (group commit); reads that
    change nothing use its read connection and never wait for a commit."""

    def __init__(self, db: Database) -> None:
        self._serialized = db.writes
        self._reads = db.reads

    def _transaction(
        self, unit: UnitOfWork | None = None
    ) -> AbstractAsyncContextManager[Connection]:
        return self._serialized.transaction(unit)

    @staticmethod
    async def _fetch_record(
        conn: Connection, tenant: str, scope: str, key: str
    ) -> IdempotencyRecord | None:
        async with conn.execute(_SELECT_RECORD, (tenant, scope, key)) as cur:
            row = await cur.fetchone()
        return _record(row) if row else None

    async def reserve(
        self,
        *,
        key: str,
        fingerprint: str,
        execution: NewExecution,
        owner: str,
        ttl_s: float,
        now: datetime | None = None,
        unit: UnitOfWork | None = None,
    ) -> IdempotencyRecord | None:
        """Reserves ``key`` for a new execution and records the execution as running.

        Returns None when reserved, else the record already holding the key. An expired
        completed record is replaced; a record in flight or of unknown outcome never is.
        With ``unit`` the reservation becomes durable with the unit (before the vendor is
        called)."""
        now = now or utc_now()
        created = to_text(now)
        where = (execution.tenant, execution.scope, key)
        record = (
            *where,
            fingerprint,
            execution.connector_key,
            execution.operation,
            execution.execution_id,
            RecordState.IN_FLIGHT.value,
            owner,
            created,
            to_text(now + timedelta(seconds=ttl_s)),
        )
        async with self._transaction(unit) as conn:
            # A new key, the usual case, is taken by this one statement.
            taken = await conn.execute(_INSERT_RECORD + " ON CONFLICT DO NOTHING", record)
            if taken.rowcount == 0:
                async with conn.execute(
                    "SELECT expires_at, state FROM idempotency_records "
                    "WHERE tenant = ? AND scope = ? AND idempotency_key = ?",
                    where,
                ) as cur:
                    row = await cur.fetchone()
                if row is not None and (
                    row["state"] in HELD_STATES or from_text(row["expires_at"]) > now
                ):
                    return await self._fetch_record(conn, *where)
                await conn.execute(
                    "DELETE FROM idempotency_records "
                    "WHERE tenant = ? AND scope = ? AND idempotency_key = ?",
                    where,
                )
                await conn.execute(_INSERT_RECORD, record)
            await conn.execute(
                "INSERT INTO executions (execution_id, tenant, caller, connector_key, operation, "
                "idempotency_key, payload_digest, status, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    execution.execution_id,
                    execution.tenant,
                    execution.caller,
                    execution.connector_key,
                    execution.operation,
                    key,
                    execution.payload_digest,
                    ExecutionStatus.RUNNING.value,
                    created,
                ),
            )
        return None

    async def finish(
        self,
        *,
        tenant: str,
        scope: str,
        key: str,
        execution_id: str,
        state: RecordState,
        outcome: dict[str, Any],
        status: ExecutionStatus,
        result: dict[str, Any],
        attempts: int,
        compensates: str = "",
        unit: UnitOfWork | None = None,
    ) -> None:
        """Stores the final answer for ``key`` and the execution's end. A succeeded
        compensation (``compensates``: the execution it undid) marks that execution
        compensated and keeps its answer there, in the same transaction."""
        async with self._transaction(unit) as conn:
            await conn.execute(
                "UPDATE idempotency_records SET state = ?, outcome = ? WHERE tenant = ? "
                "AND scope = ? AND idempotency_key = ? AND execution_id = ?",
                (state.value, json.dumps(outcome), tenant, scope, key, execution_id),
            )
            await conn.execute(
                "UPDATE executions SET status = ?, result = ?, attempts = ?, finished_at = ? "
                "WHERE tenant = ? AND execution_id = ?",
                (
                    status.value,
                    json.dumps(result),
                    attempts,
                    to_text(utc_now()),
                    tenant,
                    execution_id,
                ),
            )
            if compensates and status is ExecutionStatus.SUCCEEDED:
                await self._mark_compensated(conn, tenant, compensates, outcome)

    @staticmethod
    async def _mark_compensated(
        conn: Connection, tenant: str, execution_id: str, outcome: dict[str, Any]
    ) -> None:
        await conn.execute(
            "UPDATE executions SET status = ?, compensated_at = ?, compensation = ? "
            "WHERE tenant = ? AND execution_id = ? AND status = ?",
            (
                ExecutionStatus.COMPENSATED.value,
                to_text(utc_now()),
                json.dumps(outcome),
                tenant,
                execution_id,
                ExecutionStatus.SUCCEEDED.value,
            ),
        )

    async def orphan_to_unknown(
        self, record: IdempotencyRecord, unit: UnitOfWork | None = None
    ) -> None:
        """Marks one in-flight record that no running call holds as of unknown outcome."""
        async with self._transaction(unit) as conn:
            await conn.execute(
                "UPDATE idempotency_records SET state = ? WHERE tenant = ? AND scope = ? AND "
                "idempotency_key = ? AND execution_id = ? AND state = ?",
                (
                    RecordState.UNKNOWN.value,
                    record.tenant,
                    record.scope,
                    record.key,
                    record.execution_id,
                    RecordState.IN_FLIGHT.value,
                ),
            )
            await conn.execute(
                "UPDATE executions SET status = ? WHERE tenant = ? AND execution_id = ? "
                "AND status = ?",
                (
                    ExecutionStatus.UNKNOWN.value,
                    record.tenant,
                    record.execution_id,
                    ExecutionStatus.RUNNING.value,
                ),
            )

    async def claim_unknown(
        self, record: IdempotencyRecord, owner: str, unit: UnitOfWork | None = None
    ) -> bool:
        """Takes an unknown-outcome record back in flight, to ask the vendor again under the
        same execution. Of concurrent claimers exactly one gets True."""
        async with self._transaction(unit) as conn:
            cur = await conn.execute(
                "UPDATE idempotency_records SET state = ?, owner = ? WHERE tenant = ? "
                "AND scope = ? AND idempotency_key = ? AND execution_id = ? AND state = ?",
                (
                    RecordState.IN_FLIGHT.value,
                    owner,
                    record.tenant,
                    record.scope,
                    record.key,
                    record.execution_id,
                    RecordState.UNKNOWN.value,
                ),
            )
            if cur.rowcount != 1:
                return False
            await conn.execute(
                "UPDATE executions SET status = ? WHERE tenant = ? AND execution_id = ?",
                (ExecutionStatus.RUNNING.value, record.tenant, record.execution_id),
            )
            return True

    async def release(
        self,
        *,
        tenant: str,
        scope: str,
        key: str,
        execution_id: str,
        unit: UnitOfWork | None = None,
    ) -> None:
        """Forgets a reservation whose call never reached the vendor: the key is free again."""
        async with self._transaction(unit) as conn:
            await conn.execute(
                "DELETE FROM idempotency_records WHERE tenant = ? AND scope = ? AND "
                "idempotency_key = ? AND execution_id = ? AND state = ?",
                (tenant, scope, key, execution_id, RecordState.IN_FLIGHT.value),
            )
            await conn.execute(
                "DELETE FROM executions WHERE tenant = ? AND execution_id = ? AND status = ?",
                (tenant, execution_id, ExecutionStatus.RUNNING.value),
            )

    async def record(self, tenant: str, scope: str, key: str) -> IdempotencyRecord | None:
        return await self._fetch_record(self._reads, tenant, scope, key)

    # --- processes sharing the database ----------------------------------------------------

    async def hold_lease(self, owner: str, lease_s: float, now: datetime | None = None) -> None:
        """Registers or renews this process's lease on its in-flight calls."""
        now = now or utc_now()
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO gateway_instances (instance_id, host, pid, started_at, lease_until) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (instance_id) DO UPDATE SET "
                "lease_until = excluded.lease_until",
                (
                    owner,
                    socket.gethostname(),
                    os.getpid(),
                    to_text(now),
                    to_text(now + timedelta(seconds=lease_s)),
                ),
            )

    async def drop_lease(self, owner: str) -> None:
        """On a clean stop: nothing of this process is in flight any more."""
        async with self._transaction() as conn:
            await conn.execute("DELETE FROM gateway_instances WHERE instance_id = ?", (owner,))

    @staticmethod
    async def _live_owners(conn: Connection, now: datetime) -> list[str]:
        """Processes whose lease holds, except those of this host that no longer run (a
        process killed and restarted at once need not wait for its old lease to lapse)."""
        host = socket.gethostname()
        async with conn.execute(
            "SELECT instance_id, host, pid FROM gateway_instances WHERE lease_until > ?",
            (to_text(now),),
        ) as cur:
            rows = await cur.fetchall()
        return [
            row["instance_id"]
            for row in rows
            if row["host"] != host or row["pid"] == os.getpid() or _running(row["pid"])
        ]

    async def owner_alive(self, owner: str, now: datetime | None = None) -> bool:
        """Whether the process that holds a record still runs and renews its lease."""
        return owner in await self._live_owners(self._reads, now or utc_now())

    async def orphans_to_unknown(self, now: datetime | None = None) -> int:
        """Calls in flight under a process that is gone (its lease lapsed, or it no longer
        runs on this host) have an unknown outcome. Calls of live processes sharing the
        database are left alone."""
        now = now or utc_now()
        async with self._transaction() as conn:
            live = await self._live_owners(conn, now)
            marks = ", ".join("?" * len(live)) or "''"  # no instance id is empty
            await conn.execute(
                "UPDATE executions SET status = ? WHERE status = ? AND execution_id IN "
                "(SELECT execution_id FROM idempotency_records WHERE state = ? "
                f"AND owner NOT IN ({marks}))",
                (
                    ExecutionStatus.UNKNOWN.value,
                    ExecutionStatus.RUNNING.value,
                    RecordState.IN_FLIGHT.value,
                    *live,
                ),
            )
            cur = await conn.execute(
                "UPDATE idempotency_records SET state = ? WHERE state = ? "
                f"AND owner NOT IN ({marks})",
                (RecordState.UNKNOWN.value, RecordState.IN_FLIGHT.value, *live),
            )
            orphans = cur.rowcount
            await conn.execute(
                f"DELETE FROM gateway_instances WHERE instance_id NOT IN ({marks})", tuple(live)
            )
            return orphans

    # --- housekeeping ----------------------------------------------------------------------

    async def prune(self, now: datetime | None = None) -> int:
        """Deletes expired records whose call has ended with a known answer."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM idempotency_records WHERE expires_at <= ? AND state = ?",
                (to_text(now or utc_now()), RecordState.COMPLETED.value),
            )
            return cur.rowcount

    async def prune_executions(self, retention_s: float, now: datetime | None = None) -> int:
        """Deletes settled executions (succeeded, failed) that ended more than
        ``retention_s`` ago and that no idempotency record still replays. Unknown,
        running and compensated executions are never pruned."""
        cutoff = to_text((now or utc_now()) - timedelta(seconds=retention_s))
        async with self._transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM executions WHERE status IN (?, ?) AND finished_at IS NOT NULL "
                "AND finished_at < ? AND NOT EXISTS (SELECT 1 FROM idempotency_records r "
                "WHERE r.tenant = executions.tenant AND r.execution_id = executions.execution_id)",
                (*PRUNABLE_STATUSES, cutoff),
            )
            return cur.rowcount

    # --- executions ------------------------------------------------------------------------

    async def execution(self, tenant: str, execution_id: str) -> Execution | None:
        """The tenant's execution; another tenant's id is indistinguishable from none."""
        async with self._reads.execute(
            "SELECT * FROM executions WHERE tenant = ? AND execution_id = ?",
            (tenant, execution_id),
        ) as cur:
            row = await cur.fetchone()
        return _execution(row) if row else None

    async def executions(
        self,
        tenant: str,
        status: ExecutionStatus | None = None,
        limit: int = 100,
        *,
        after: Cursor | None = None,
    ) -> list[Execution]:
        """The tenant's executions, newest first (then by id), and only those after
        ``after`` in that order (the next page)."""
        query = "SELECT * FROM executions WHERE tenant = ?"
        args: tuple[str | int, ...] = (tenant,)
        if status is not None:
            query += " AND status = ?"
            args = (*args, status.value)
        if after is not None:
            query += " AND (created_at, execution_id) < (?, ?)"
            args = (*args, after.moment, after.key)
        query += " ORDER BY created_at DESC, execution_id DESC LIMIT ?"
        async with self._reads.execute(query, (*args, limit)) as cur:
            return [_execution(r) for r in await cur.fetchall()]

    async def resolve(
        self,
        *,
        tenant: str,
        execution_id: str,
        acted: bool,
        outcome: dict[str, Any],
        result: dict[str, Any],
        note: str,
        ttl_s: float,
        compensates: str = "",
    ) -> Execution | None:
        """Records an operator's finding about an execution of unknown outcome: it acted
        (the key replays ``outcome`` for ``ttl_s`` from now; a compensation marks the execution
        it undid compensated) or it did not (the key is free again). None when the execution
        is not of unknown outcome (any more)."""
        now = utc_now()
        async with self._transaction() as conn:
            cur = await conn.execute(
                "UPDATE executions SET status = ?, result = ?, resolution_note = ?, "
                "finished_at = ? WHERE tenant = ? AND execution_id = ? AND status = ?",
                (
                    (ExecutionStatus.SUCCEEDED if acted else ExecutionStatus.FAILED).value,
                    json.dumps(result),
                    note,
                    to_text(now),
                    tenant,
                    execution_id,
                    ExecutionStatus.UNKNOWN.value,
                ),
            )
            if cur.rowcount != 1:
                return None
            if acted:
                await conn.execute(
                    "UPDATE idempotency_records SET state = ?, outcome = ?, expires_at = ? "
                    "WHERE tenant = ? AND execution_id = ? AND state = ?",
                    (
                        RecordState.COMPLETED.value,
                        json.dumps(outcome),
                        to_text(now + timedelta(seconds=ttl_s)),
                        tenant,
                        execution_id,
                        RecordState.UNKNOWN.value,
                    ),
                )
                if compensates:
                    await self._mark_compensated(conn, tenant, compensates, outcome)
            else:
                await conn.execute(
                    "DELETE FROM idempotency_records WHERE tenant = ? AND execution_id = ? "
                    "AND state = ?",
                    (tenant, execution_id, RecordState.UNKNOWN.value),
                )
            async with conn.execute(
                "SELECT * FROM executions WHERE tenant = ? AND execution_id = ?",
                (tenant, execution_id),
            ) as rows:
                row = await rows.fetchone()
        return _execution(row) if row else None


def _running(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, under another user
        return True
    return True
