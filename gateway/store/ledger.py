"""The ledger: executions and idempotency records, changed together in one transaction.

Its connection commits with ``synchronous=FULL``: a reservation must be durable before the
vendor is touched, so that after a crash an in-flight key is known to have an unknown outcome
rather than being run a second time.
"""

from __future__ import annotations

import enum
import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from gateway.clock import from_text, to_text, utc_now
from gateway.paging import Cursor
from gateway.store.sqlite import SerializedConnection


class RecordState(enum.StrEnum):
    IN_FLIGHT = "in_flight"
    COMPLETED = "completed"
    UNKNOWN = "unknown"  # the call was in flight when its gateway stopped, or timed out


class ExecutionStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    COMPENSATED = "compensated"


@dataclass(frozen=True)
class IdempotencyRecord:
    tenant: str
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


@dataclass(frozen=True)
class NewExecution:
    execution_id: str
    tenant: str
    caller: str
    connector_key: str
    operation: str
    idempotency_key: str
    payload_digest: str


def _record(row: aiosqlite.Row) -> IdempotencyRecord:
    return IdempotencyRecord(
        tenant=row["tenant"],
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


def _execution(row: aiosqlite.Row) -> Execution:
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
    )


class Ledger:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._serialized = SerializedConnection(conn)
        self._lock = self._serialized.lock

    def _transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._serialized.transaction()

    async def _fetch_record(self, tenant: str, key: str) -> IdempotencyRecord | None:
        async with self._conn.execute(
            "SELECT * FROM idempotency_records WHERE tenant = ? AND idempotency_key = ?",
            (tenant, key),
        ) as cur:
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
    ) -> IdempotencyRecord | None:
        """Reserves ``key`` for a new execution and records the execution as running.

        Returns None when reserved, else the live record already holding the key. An expired
        record is replaced."""
        now = now or utc_now()
        async with self._transaction() as conn:
            existing = await self._fetch_record(execution.tenant, key)
            if existing is not None:
                async with conn.execute(
                    "SELECT expires_at FROM idempotency_records "
                    "WHERE tenant = ? AND idempotency_key = ?",
                    (execution.tenant, key),
                ) as cur:
                    row = await cur.fetchone()
                expired = row is not None and from_text(row[0]) <= now
                if not expired or existing.state is RecordState.IN_FLIGHT:
                    return existing
                await conn.execute(
                    "DELETE FROM idempotency_records WHERE tenant = ? AND idempotency_key = ?",
                    (execution.tenant, key),
                )
            await conn.execute(
                "INSERT INTO idempotency_records (tenant, idempotency_key, fingerprint, "
                "connector_key, operation, execution_id, state, owner, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    execution.tenant,
                    key,
                    fingerprint,
                    execution.connector_key,
                    execution.operation,
                    execution.execution_id,
                    RecordState.IN_FLIGHT.value,
                    owner,
                    to_text(now),
                    to_text(now + timedelta(seconds=ttl_s)),
                ),
            )
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
                    to_text(now),
                ),
            )
        return None

    async def finish(
        self,
        *,
        tenant: str,
        key: str,
        execution_id: str,
        state: RecordState,
        outcome: dict[str, Any],
        status: ExecutionStatus,
        result: dict[str, Any],
        attempts: int,
    ) -> None:
        """Stores the final answer for ``key`` and the execution's end."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE idempotency_records SET state = ?, outcome = ? "
                "WHERE tenant = ? AND idempotency_key = ? AND execution_id = ?",
                (state.value, json.dumps(outcome), tenant, key, execution_id),
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

    async def orphan_to_unknown(self, *, tenant: str, key: str, execution_id: str) -> None:
        """Marks one in-flight record that no running call holds as of unknown outcome."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE idempotency_records SET state = ? WHERE tenant = ? AND "
                "idempotency_key = ? AND execution_id = ? AND state = ?",
                (RecordState.UNKNOWN.value, tenant, key, execution_id, RecordState.IN_FLIGHT.value),
            )
            await conn.execute(
                "UPDATE executions SET status = ? WHERE tenant = ? AND execution_id = ? "
                "AND status = ?",
                (
                    ExecutionStatus.UNKNOWN.value,
                    tenant,
                    execution_id,
                    ExecutionStatus.RUNNING.value,
                ),
            )

    async def claim_unknown(self, *, tenant: str, key: str, execution_id: str, owner: str) -> bool:
        """Takes an unknown-outcome record back in flight, to ask the vendor again under the
        same execution. Of concurrent claimers exactly one gets True."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "UPDATE idempotency_records SET state = ?, owner = ? WHERE tenant = ? "
                "AND idempotency_key = ? AND execution_id = ? AND state = ?",
                (
                    RecordState.IN_FLIGHT.value,
                    owner,
                    tenant,
                    key,
                    execution_id,
                    RecordState.UNKNOWN.value,
                ),
            )
            if cur.rowcount != 1:
                return False
            await conn.execute(
                "UPDATE executions SET status = ? WHERE tenant = ? AND execution_id = ?",
                (ExecutionStatus.RUNNING.value, tenant, execution_id),
            )
            return True

    async def release(self, *, tenant: str, key: str, execution_id: str) -> None:
        """Forgets a reservation whose call never reached the vendor: the key is free again."""
        async with self._transaction() as conn:
            await conn.execute(
                "DELETE FROM idempotency_records WHERE tenant = ? AND idempotency_key = ? "
                "AND execution_id = ? AND state = ?",
                (tenant, key, execution_id, RecordState.IN_FLIGHT.value),
            )
            await conn.execute(
                "DELETE FROM executions WHERE tenant = ? AND execution_id = ? AND status = ?",
                (tenant, execution_id, ExecutionStatus.RUNNING.value),
            )

    async def record(self, tenant: str, key: str) -> IdempotencyRecord | None:
        async with self._lock:
            return await self._fetch_record(tenant, key)

    async def orphans_to_unknown(self, owner: str) -> int:
        """At start-up: calls in flight under an earlier process have an unknown outcome."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE executions SET status = ? WHERE status = ? AND execution_id IN "
                "(SELECT execution_id FROM idempotency_records WHERE state = ? AND owner != ?)",
                (
                    ExecutionStatus.UNKNOWN.value,
                    ExecutionStatus.RUNNING.value,
                    RecordState.IN_FLIGHT.value,
                    owner,
                ),
            )
            cur = await conn.execute(
                "UPDATE idempotency_records SET state = ? WHERE state = ? AND owner != ?",
                (RecordState.UNKNOWN.value, RecordState.IN_FLIGHT.value, owner),
            )
            return cur.rowcount

    async def prune(self, now: datetime | None = None) -> int:
        """Deletes expired records that are not in flight."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM idempotency_records WHERE expires_at <= ? AND state != ?",
                (to_text(now or utc_now()), RecordState.IN_FLIGHT.value),
            )
            return cur.rowcount

    async def execution(self, tenant: str, execution_id: str) -> Execution | None:
        """The tenant's execution; another tenant's id is indistinguishable from none."""
        async with (
            self._lock,
            self._conn.execute(
                "SELECT * FROM executions WHERE tenant = ? AND execution_id = ?",
                (tenant, execution_id),
            ) as cur,
        ):
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
        async with self._lock, self._conn.execute(query, (*args, limit)) as cur:
            return [_execution(r) for r in await cur.fetchall()]

    async def resolve(
        self,
        *,
        tenant: str,
        execution_id: str,
        acted: bool,
        outcome: dict[str, Any],
        result: dict[str, Any],
    ) -> Execution | None:
        """Records an operator's finding about an execution of unknown outcome: it acted
        (the key replays ``outcome``) or it did not (the key is free again). None when the
        execution is not of unknown outcome (any more)."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "UPDATE executions SET status = ?, result = ?, finished_at = ? "
                "WHERE tenant = ? AND execution_id = ? AND status = ?",
                (
                    (ExecutionStatus.SUCCEEDED if acted else ExecutionStatus.FAILED).value,
                    json.dumps(result),
                    to_text(utc_now()),
                    tenant,
                    execution_id,
                    ExecutionStatus.UNKNOWN.value,
                ),
            )
            if cur.rowcount != 1:
                return None
            if acted:
                await conn.execute(
                    "UPDATE idempotency_records SET state = ?, outcome = ? "
                    "WHERE tenant = ? AND execution_id = ? AND state = ?",
                    (
                        RecordState.COMPLETED.value,
                        json.dumps(outcome),
                        tenant,
                        execution_id,
                        RecordState.UNKNOWN.value,
                    ),
                )
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

    async def mark_compensated(self, tenant: str, execution_id: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE executions SET status = ?, compensated_at = ? "
                "WHERE tenant = ? AND execution_id = ?",
                (ExecutionStatus.COMPENSATED.value, to_text(utc_now()), tenant, execution_id),
            )
