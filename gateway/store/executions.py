"""Executions that reached a vendor, with what their compensation needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from gateway.clock import to_text, utc_now


@dataclass(frozen=True)
class Execution:
    execution_id: str
    tenant: str
    connector_key: str
    operation: str
    status: str
    result: dict[str, Any]
    attempts: int


class ExecutionStore:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def record(
        self,
        *,
        execution_id: str,
        tenant: str,
        caller: str,
        connector_key: str,
        operation: str,
        idempotency_key: str,
        payload_digest: str,
        status: str,
        result: dict[str, Any],
        attempts: int,
    ) -> None:
        now = to_text(utc_now())
        await self._conn.execute(
            "INSERT INTO executions (execution_id, tenant, caller, connector_key, operation, "
            "idempotency_key, payload_digest, status, result, attempts, created_at, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                execution_id,
                tenant,
                caller,
                connector_key,
                operation,
                idempotency_key,
                payload_digest,
                status,
                json.dumps(result),
                attempts,
                now,
                now,
            ),
        )

    async def get(self, tenant: str, execution_id: str) -> Execution | None:
        """The tenant's execution; another tenant's id is indistinguishable from none."""
        async with self._conn.execute(
            "SELECT execution_id, tenant, connector_key, operation, status, result, attempts "
            "FROM executions WHERE tenant = ? AND execution_id = ?",
            (tenant, execution_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return Execution(
            execution_id=row["execution_id"],
            tenant=row["tenant"],
            connector_key=row["connector_key"],
            operation=row["operation"],
            status=row["status"],
            result=json.loads(row["result"]),
            attempts=row["attempts"],
        )
