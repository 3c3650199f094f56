"""Idempotency keys with the semantics of Stripe's: scoped to the caller within its tenant, the
first final answer replayed to repeats, a different request under the same key refused, and a
concurrent duplicate waiting for the first call instead of running a second one."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable

from gateway.call import Deadline
from gateway.canonical import sha256_hex
from gateway.errors import (
    DeadlineExceeded,
    IdempotencyKeyReused,
    ShuttingDown,
)
from gateway.reliability.stopping import Stopping
from gateway.store.ledger import IdempotencyRecord, Ledger, NewExecution, RecordState
from gateway.store.sqlite import UnitOfWork

POLL_S = 0.05  # how often to look again at a key held by another live gateway process
# The key of an execution's compensation. Agents' keys never hold a space (validation), so
# no Execute can take, or be mistaken for, a compensation's key. It is tenant-wide (scope
# ""): an execution is undone at most once, whoever asks.
COMPENSATION_KEY_PREFIX = "compensation "
COMPENSATION_SCOPE = ""


def compensation_key(execution_id: str) -> str:
    return COMPENSATION_KEY_PREFIX + execution_id


def execute_fingerprint(connector_key: str, operation: str, payload_digest: str) -> str:
    """What a key is bound to for an Execute: the connector, the operation and the payload."""
    return sha256_hex(
        {"connector_key": connector_key, "operation": operation, "payload_digest": payload_digest}
    )


def compensation_fingerprint(execution_id: str, operation: str) -> str:
    """What a compensation's key is bound to: the execution and the undo."""
    return sha256_hex({"execution_id": execution_id, "operation": operation})


def check_fingerprint(record: IdempotencyRecord, fingerprint: str) -> None:
    """Refuses a key first used for a different request."""
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"idempotency key {record.key!r} was first used for a different request "
            f"({record.connector_key}.{record.operation} with another payload); "
            "use a new key for a new request",
            metadata={"idempotency_key": record.key},
        )


class IdempotencyKeys:
    def __init__(
        self, ledger: Ledger, *, owner: str, ttl_s: float, stopping: Stopping | None = None
    ) -> None:
        self._ledger = ledger
        self.owner = owner
        self.ttl_s = ttl_s
        self._stopping = stopping or Stopping()
        self._running: dict[tuple[str, str, str], asyncio.Event] = {}

    async def begin(
        self,
        *,
        key: str,
        fingerprint: str,
        execution: NewExecution,
        deadline: Deadline,
        unit: UnitOfWork | None = None,
    ) -> IdempotencyRecord | None:
        """Reserves the key (returns None; the caller must ``end`` it) or returns the record
        of the earlier call to replay. Waits, within the deadline, for an earlier call with
        the same key that is still running."""
        local = (execution.tenant, execution.scope, key)
        while True:
            running = self._running.get(local)
            if running is not None:
                await self._wait(self._stopping.wait(running), deadline, key)
                continue
            event = asyncio.Event()
            self._running[local] = event
            try:
                existing = await self._ledger.reserve(
                    key=key,
                    fingerprint=fingerprint,
                    execution=execution,
                    owner=self.owner,
                    ttl_s=self.ttl_s,
                    unit=unit,
                )
            except BaseException:
                self.end(execution.tenant, execution.scope, key)
                raise
            if existing is None:
                return None
            self.end(execution.tenant, execution.scope, key)
            check_fingerprint(existing, fingerprint)
            if (
                existing.state is RecordState.IN_FLIGHT
                and existing.owner != self.owner
                and await self._ledger.owner_alive(existing.owner)
            ):
                # Held by another live gateway process sharing the store: look again.
                await self._wait(self._stopping.sleep(POLL_S), deadline, key)
                continue
            if existing.state is RecordState.IN_FLIGHT:
                # No running call holds it: the call that reserved it was cancelled at the
                # wrong moment, or its process died. Nobody knows whether the vendor acted.
                await self._ledger.orphan_to_unknown(existing, unit)
                existing = dataclasses.replace(existing, state=RecordState.UNKNOWN)
            return existing

    async def claim(self, record: IdempotencyRecord, unit: UnitOfWork | None = None) -> bool:
        """Takes an unknown-outcome key back for this call, to ask the vendor again; the
        caller must ``end`` it. False when another call got there first: begin again."""
        local = (record.tenant, record.scope, record.key)
        if local in self._running:
            return False
        self._running[local] = asyncio.Event()
        claimed = await self._ledger.claim_unknown(record, self.owner, unit)
        if not claimed:
            self.end(record.tenant, record.scope, record.key)
        return claimed

    def end(self, tenant: str, scope: str, key: str) -> None:
        """Wakes the calls waiting for this key."""
        event = self._running.pop((tenant, scope, key), None)
        if event is not None:
            event.set()

    @staticmethod
    async def _wait(waiting: Awaitable[None], deadline: Deadline, key: str) -> None:
        """Waits for an earlier call with this key, within the deadline, and not once the
        gateway begins to stop (the earlier call keeps the key; this one never started)."""
        try:
            async with asyncio.timeout(max(0.0, deadline.remaining())):
                await waiting
        except ShuttingDown as stopping:
            raise stopping.with_metadata(idempotency_key=key, attempts="0") from None
        except TimeoutError:
            raise DeadlineExceeded(
                f"an earlier call with idempotency key {key!r} is still running; retry with "
                "the same key to get its answer",
                metadata={"idempotency_key": key, "attempts": "0"},
            ) from None
