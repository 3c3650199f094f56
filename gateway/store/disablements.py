"""Connectors an operator disabled, per tenant (``connector_disablements``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.clock import from_text, to_text
from gateway.store.sqlite import Database


@dataclass(frozen=True)
class Disablement:
    tenant: str
    connector_key: str
    reason: str
    disabled_by: str  # the operator's caller id
    disabled_at: datetime


class DisablementStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Disablement]:
        async with self._db.reads.execute("SELECT * FROM connector_disablements") as cur:
            rows = await cur.fetchall()
        return [
            Disablement(
                tenant=row["tenant"],
                connector_key=row["connector_key"],
                reason=row["reason"],
                disabled_by=row["disabled_by"],
                disabled_at=from_text(row["disabled_at"]),
            )
            for row in rows
        ]

    async def put(self, disablement: Disablement) -> None:
        async with self._db.writes.transaction() as conn:
            await conn.execute(
                "INSERT INTO connector_disablements "
                "(tenant, connector_key, reason, disabled_by, disabled_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, connector_key) DO UPDATE SET "
                "reason = excluded.reason, disabled_by = excluded.disabled_by, "
                "disabled_at = excluded.disabled_at",
                (
                    disablement.tenant,
                    disablement.connector_key,
                    disablement.reason,
                    disablement.disabled_by,
                    to_text(disablement.disabled_at),
                ),
            )

    async def delete(self, tenant: str, connector_key: str) -> bool:
        """Removes the connector's disablement; whether there was one."""
        async with self._db.writes.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM connector_disablements WHERE tenant = ? AND connector_key = ?",
                (tenant, connector_key),
            )
            return cur.rowcount > 0
