"""Each connector's observed state per tenant: what the health board shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.clock import from_text, to_text
from gateway.contract import ConnectorStatus
from gateway.store.sqlite import Database


@dataclass(frozen=True)
class SyncState:
    tenant: str
    connector_key: str
    status: ConnectorStatus
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str
    consecutive_failures: int


class SyncStateStore:
    """Written behind (``gateway.health_state``) through the shared write connection, so a
    state joins whatever batch commits next; read without waiting for a commit."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, tenant: str, connector_key: str) -> SyncState | None:
        async with self._db.reads.execute(
            "SELECT * FROM integration_sync_states WHERE tenant = ? AND connector_key = ?",
            (tenant, connector_key),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return SyncState(
            tenant=row["tenant"],
            connector_key=row["connector_key"],
            status=ConnectorStatus(row["status"]),
            last_success_at=from_text(row["last_success_at"]) if row["last_success_at"] else None,
            last_attempt_at=from_text(row["last_attempt_at"]) if row["last_attempt_at"] else None,
            last_error=row["last_error"],
            consecutive_failures=row["consecutive_failures"],
        )

    async def put(self, state: SyncState, now: datetime) -> None:
        async with self._db.writes.transaction() as conn:
            await conn.execute(
                "INSERT INTO integration_sync_states (tenant, connector_key, status, "
                "last_success_at, last_attempt_at, last_error, consecutive_failures, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant, connector_key) DO UPDATE SET status = excluded.status, "
                "last_success_at = excluded.last_success_at, "
                "last_attempt_at = excluded.last_attempt_at, last_error = excluded.last_error, "
                "consecutive_failures = excluded.consecutive_failures, "
                "updated_at = excluded.updated_at",
                (
                    state.tenant,
                    state.connector_key,
                    state.status.value,
                    to_text(state.last_success_at) if state.last_success_at else None,
                    to_text(state.last_attempt_at) if state.last_attempt_at else None,
                    state.last_error,
                    state.consecutive_failures,
                    to_text(now),
                ),
            )
