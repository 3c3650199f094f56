"""Idempotency keys with the semantics of Stripe's: scoped to the tenant, the first final
answer replayed to repeats, a different request under the same key refused, and a concurrent
duplicate waiting for the first call instead of running a second one."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from gateway.errors import DeadlineExceeded, GatewayError, IdempotencyKeyReused, StoredError
from gateway.interceptors.base import Deadline
from gateway.store.ledger import IdempotencyRecord, Ledger, NewExecution, RecordState

POLL_S = 0.05
# The key of an execution's compensation. Agents' keys never hold a space (validation), so
# no Execute can take, or be mistaken for, a compensation's key.
COMPENSATION_KEY_PREFIX = "compensation "


def compensation_key(execution_id: str) -> str:
    return (
        COMPENSATION_KEY_PREFIX + execution_id
    )  # how often to look again at a key held by another gateway process


def response_outcome(response: Message) -> dict[str, Any]:
    return {"response": base64.b64encode(response.SerializeToString()).decode()}


def error_outcome(error: GatewayError) -> dict[str, Any]:
    return {
        "error": {
            "code": error.code.name,
            "reason": error.reason,
            "message": error.message,
            "metadata": dict(error.metadata),
        }
    }


def stored_error(outcome: dict[str, Any]) -> StoredError:
    err = outcome["error"]
    return StoredError(grpc.StatusCode[err["code"]], err["reason"], err["message"], err["metadata"])


M = TypeVar("M", bound=Message)


def stored_response(outcome: dict[str, Any], response_type: type[M]) -> M:
    response = response_type()
    response.ParseFromString(base64.b64decode(outcome["response"]))
    return response


class IdempotencyKeys:
    def __init__(self, ledger: Ledger, *, owner: str, ttl_s: float) -> None:
        self._ledger = ledger
        self.owner = owner
        self._ttl_s = ttl_s
        self._running: dict[tuple[str, str], asyncio.Event] = {}

    async def begin(
        self, *, key: str, fingerprint: str, execution: NewExecution, deadline: Deadline
    ) -> IdempotencyRecord | None:
        """Reserves the key (returns None; the caller must ``end`` it) or returns the record
        of the earlier call to replay. Waits, within the deadline, for an earlier call with
        the same key that is still running."""
        local = (execution.tenant, key)
        while True:
            running = self._running.get(local)
            if running is not None:
                await self._wait(running.wait(), deadline, key)
                continue
            event = asyncio.Event()
            self._running[local] = event
            try:
                existing = await self._ledger.reserve(
                    key=key,
                    fingerprint=fingerprint,
                    execution=execution,
                    owner=self.owner,
                    ttl_s=self._ttl_s,
                )
            except BaseException:
                self.end(execution.tenant, key)
                raise
            if existing is None:
                return None
            self.end(execution.tenant, key)
            if existing.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    f"idempotency key {key!r} was first used for a different request "
                    f"({existing.connector_key}.{existing.operation} with another payload); "
                    "use a new key for a new request",
                    metadata={"idempotency_key": key},
                )
            if existing.state is RecordState.IN_FLIGHT and existing.owner != self.owner:
                # Held by another gateway process sharing the store: look again shortly.
                await self._wait(asyncio.sleep(POLL_S), deadline, key)
                continue
            if existing.state is RecordState.IN_FLIGHT:
                # Ours, yet no call of this process runs it: the call that reserved it was
                # cancelled at the wrong moment. Nobody knows whether the vendor acted.
                await self._ledger.orphan_to_unknown(
                    tenant=existing.tenant, key=key, execution_id=existing.execution_id
                )
                existing = dataclasses.replace(existing, state=RecordState.UNKNOWN)
            return existing

    async def claim(self, record: IdempotencyRecord) -> bool:
        """Takes an unknown-outcome key back for this call, to ask the vendor again; the
        caller must ``end`` it. False when another call got there first: begin again."""
        local = (record.tenant, record.key)
        if local in self._running:
            return False
        self._running[local] = asyncio.Event()
        claimed = await self._ledger.claim_unknown(
            tenant=record.tenant,
            key=record.key,
            execution_id=record.execution_id,
            owner=self.owner,
        )
        if not claimed:
            self.end(record.tenant, record.key)
        return claimed

    def end(self, tenant: str, key: str) -> None:
        """Wakes the calls waiting for this key."""
        event = self._running.pop((tenant, key), None)
        if event is not None:
            event.set()

    @staticmethod
    async def _wait(waiting: Any, deadline: Deadline, key: str) -> None:
        try:
            async with asyncio.timeout(max(0.0, deadline.remaining())):
                await waiting
        except TimeoutError:
            raise DeadlineExceeded(
                f"an earlier call with idempotency key {key!r} is still running; retry with "
                "the same key to get its answer",
                metadata={"idempotency_key": key, "attempts": "0"},
            ) from None
