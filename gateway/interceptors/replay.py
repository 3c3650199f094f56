"""Replay: a repeat of an action answers from what the first call stored, before any policy
class or approval decision.

An agent that retries an approved call without its ``approval_id`` (or after the approval was
used) gets the stored answer, not a new approval request for something that already happened.
A key still in flight or of unknown outcome marks the call as a repeat of an action admitted
earlier: the servicer waits for it, or asks the vendor, and no second approval is asked for.
A key first used for another request is refused here (IDEMPOTENCY_KEY_REUSED).
"""

from __future__ import annotations

from google.protobuf.message import Message

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.call import Call, Context, KeyRef
from gateway.interceptors.base import Next
from gateway.reliability.idempotency import (
    COMPENSATION_SCOPE,
    check_fingerprint,
    compensation_fingerprint,
    compensation_key,
    execute_fingerprint,
)
from gateway.store.ledger import ExecutionStatus, Ledger, RecordState
from gateway.store.outcomes import REPLAY_EVENT, replay, replay_outcome


class ReplayLayer:
    name = "replay"

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        if not call.rule.acts:
            return await call_next(call)
        identity, target = call.who(), call.what()
        facts = call.facts
        response_type: type[Message]
        if not call.rule.compensates:
            if target.operation.read_only:  # reads repeat freely: no key, no record
                return await call_next(call)
            key = KeyRef(
                scope=identity.caller,
                key=facts.idempotency_key,
                fingerprint=execute_fingerprint(
                    target.metadata.key, target.operation.name, facts.payload_digest
                ),
            )
            response_type = pb.ExecuteResponse
        elif call.execution is not None:
            execution = call.execution
            if execution.status is ExecutionStatus.COMPENSATED and execution.compensation:
                # The execution's own state decides: once undone, always this answer.
                facts.success_event = facts.refusal_event = REPLAY_EVENT
                return replay_outcome(execution.compensation, pb.CompensateResponse)
            key = KeyRef(
                scope=COMPENSATION_SCOPE,
                key=compensation_key(execution.execution_id),
                fingerprint=compensation_fingerprint(execution.execution_id, target.operation.name),
            )
            response_type = pb.CompensateResponse
        else:
            return await call_next(call)
        call = call.with_(key=key)
        record = await self._ledger.record(identity.tenant, key.scope, key.key)
        if record is None:
            return await call_next(call)
        check_fingerprint(record, key.fingerprint)
        if record.state is not RecordState.COMPLETED:
            return await call_next(call.with_(repeat=True))
        if not call.rule.compensates:
            facts.execution_id = record.execution_id
        facts.success_event = facts.refusal_event = REPLAY_EVENT
        return replay(record, response_type)
