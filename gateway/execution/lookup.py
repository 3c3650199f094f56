"""Asking the vendor about one execution whose outcome is unknown, for an operator.

The gateway sent the request with a marker the vendor recognises it by
(``gateway.markers``). An adapter that can look it up is a ``Reconciler``. A vendor that
deduplicates by the marker (``Idempotency.NATIVE``: Stripe's ``Idempotency-Key``) is asked by
sending the same request again under it, within the time the vendor keeps its keys: it answers
what it did the first time, or does it now, once, as the approved request asked. Either way
the request is needed: for a class B execution, the payload its approval was bound to, which
the approval store keeps. A vendor that offers neither, a compensation (whose undo is learned
by the agent sending Compensate again) and a request the gateway no longer holds are refused
with ``VENDOR_LOOKUP_UNAVAILABLE``, naming why, so the operator resolves by hand.
"""

from __future__ import annotations

import asyncio
import json
import time

from pydantic import BaseModel, ValidationError

from gateway.approvals.store import ApprovalStore
from gateway.call import Deadline
from gateway.contract import Adapter, AttemptContext, Idempotency, Lookup, Reconciler
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    VendorLookupUnavailable,
    VendorRejected,
)
from gateway.execution.attempts import ATTEMPT_GUARD_S
from gateway.execution.once import NATIVE_REPLAY_WINDOW_S
from gateway.markers import action_marker
from gateway.redaction import redact_error
from gateway.registry import Registry
from gateway.reliability.idempotency import COMPENSATION_KEY_PREFIX
from gateway.store.ledger import Execution


def _unavailable(execution: Execution, why: str, message: str) -> VendorLookupUnavailable:
    return VendorLookupUnavailable(
        f"{message}; find out at the vendor and resolve execution "
        f"{execution.execution_id!r} with ResolveExecution",
        metadata={"execution_id": execution.execution_id, "why": why},
    )


async def _replayed(
    adapter: Adapter, operation: str, payload: BaseModel, ctx: AttemptContext
) -> Lookup:
    """The vendor's answer to the same request under the same marker: what it did then (or
    does now, once). A refusal is the request's own: it never acted on it."""
    try:
        result = await adapter.execute(operation, payload, ctx)
    except VendorRejected:
        return Lookup(found=False)
    return Lookup(found=True, result=dict(result))


class VendorLookup:
    def __init__(self, registry: Registry, approvals: ApprovalStore) -> None:
        self._registry = registry
        self._approvals = approvals

    async def ask(self, execution: Execution, deadline: Deadline) -> Lookup:
        """What the vendor says of ``execution``'s request; raises the vendor's error, or
        ``VENDOR_LOOKUP_UNAVAILABLE`` when it cannot be asked."""
        if execution.idempotency_key.startswith(COMPENSATION_KEY_PREFIX):
            raise _unavailable(
                execution,
                "compensation",
                "an undo's outcome is learned by sending Compensate again, not by a lookup",
            )
        connector = self._registry.get(execution.connector_key)
        adapter = connector.adapter_for(execution.tenant) if connector is not None else None
        operation = connector.metadata.operation(execution.operation) if connector else None
        replayable = (
            operation is not None
            and operation.idempotency is Idempotency.NATIVE
            and time.time() - execution.created_at.timestamp() < NATIVE_REPLAY_WINDOW_S
        )
        if (
            connector is None
            or adapter is None
            or operation is None
            or not (isinstance(adapter, Reconciler) or replayable)
        ):
            raise _unavailable(
                execution,
                "no_lookup",
                f"the {execution.connector_key} connector cannot ask its vendor about an "
                "earlier request",
            )
        payload = await self._payload(execution, operation.payload_model)
        meta = connector.metadata
        ctx = AttemptContext(
            execution.tenant,
            execution.execution_id,
            execution.execution_id,
            0,
            min(meta.timeout_ms / 1000, deadline.remaining()),
            marker=action_marker(
                execution.tenant,
                execution.caller,
                execution.connector_key,
                execution.operation,
                execution.idempotency_key,
            ),
        )
        try:
            async with asyncio.timeout(ctx.timeout_s + ATTEMPT_GUARD_S):
                if isinstance(adapter, Reconciler):
                    return await adapter.reconcile(execution.operation, payload, ctx)
                return await _replayed(adapter, execution.operation, payload, ctx)
        except TimeoutError:
            raise DeadlineExceeded(
                f"{execution.connector_key} did not answer the lookup in time; the execution "
                "is still unknown",
                metadata={"execution_id": execution.execution_id},
            ) from None
        except GatewayError as error:
            raise redact_error(error, meta.data_classification) from None

    async def _payload(self, execution: Execution, model: type[BaseModel]) -> BaseModel:
        approval = await self._approvals.used_by(execution.tenant, execution.execution_id)
        if approval is None or approval.payload is None:
            raise _unavailable(
                execution,
                "request_not_kept",
                "the gateway keeps the request of an approved execution only, and this one "
                "has none",
            )
        try:
            # JSON mode reads dates and numbers as the agent's request carried them.
            return model.model_validate_json(json.dumps(approval.payload))
        except ValidationError:
            raise _unavailable(
                execution,
                "request_not_kept",
                "the request the approval kept no longer fits the operation's payload",
            ) from None
