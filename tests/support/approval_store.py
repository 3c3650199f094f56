"""An approval store on a real SQLite file with a hand-driven clock, and the actions the store
tests ask it about."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.approvals import Approval, ApprovalClocks, ApprovalStore
from gateway.canonical import sha256_hex
from gateway.store.sqlite import Database, migrate

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PAYLOAD = {"to": "ceo@rival.example", "subject": "مرحبا", "amount": 125.5}
REDACTED = {"to": "<string:17>", "subject": "<string:5>", "amount": "<float>"}
OTHER_PAYLOAD = {**PAYLOAD, "amount": 999}
DIGEST = sha256_hex(PAYLOAD)
OTHER_DIGEST = sha256_hex(OTHER_PAYLOAD)
AGENT = "agent-billing"
OPERATOR = "alice@example.com"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Env:
    store: ApprovalStore
    clock: Clock
    path: Path
    db: Database


@asynccontextmanager
async def store_env(
    path: Path,
    clocks: ApprovalClocks | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    **options: Any,
) -> AsyncIterator[Env]:
    """A migrated database at ``path`` and a store on its own connection; ``clock`` replaces
    the hand-driven clock (for tests that wait for real deadlines)."""
    await migrate(path)
    db = await Database.open(path)
    hand = Clock(T0)
    try:
        store = ApprovalStore(db, clocks or ApprovalClocks(), clock or hand, **options)
        yield Env(store, hand, path, db)
    finally:
        await db.close()


def action(**changes: Any) -> dict[str, Any]:
    """The arguments of ``request``; the digest is always that of the payload."""
    fields: dict[str, Any] = {
        "tenant": "acme",
        "connector_key": "billing",
        "operation": "refund",
        "payload": PAYLOAD,
        "payload_redacted": REDACTED,
        "execution_id": "",
        "requested_by": AGENT,
    }
    fields.update(changes)
    fields["payload_digest"] = sha256_hex(fields["payload"])
    return fields


def numbered(n: int) -> dict[str, Any]:
    """Another payload for each ``n``: another action."""
    return {**PAYLOAD, "amount": n}


def binding(approval: Approval, **changes: str) -> dict[str, str]:
    """The arguments of ``check`` (and ``consume``) for the approval's own action and
    requester."""
    fields = {
        "tenant": approval.tenant,
        "approval_id": approval.approval_id,
        "caller": approval.requested_by,
        "connector_key": approval.connector_key,
        "operation": approval.operation,
        "payload_digest": approval.payload_digest,
        "execution_id": approval.execution_id,
    }
    fields.update(changes)
    return fields


async def granted(env: Env, **changes: Any) -> Approval:
    approval, _ = await env.store.request(**action(**changes))
    return await env.store.grant(
        tenant=approval.tenant, approval_id=approval.approval_id, approver=OPERATOR, note="ok"
    )
