"""At most once: the bookkeeping around an action that writes.

reserve the key (or find the earlier call: replay it, ask the vendor about an unknown outcome,
or wait for it) -> use the approval -> attempts -> store the final answer with the key, or
free the key when the vendor never acted (giving the approval back)

Every step that records what happened runs to its end even when the call is cancelled
meanwhile (the caller went away, the deadline's backstop fired): the answer given then names
an execution operators can find.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from gateway.approvals.gate import ApprovalGate
from gateway.call import ActionCall, KeyRef
from gateway.contract import AttemptContext, Idempotency, OperationSpec, Reconciler
from gateway.errors import GatewayError, OutcomeUnknown, VendorRejected
from gateway.execution.attempts import ATTEMPT_GUARD_S, AttemptPipeline, Attempts, Invoke
from gateway.markers import marker_for
from gateway.registry import Connector
from gateway.reliability.idempotency import IdempotencyKeys
from gateway.reliability.retry import AttemptLog
from gateway.store.ledger import IdempotencyRecord, Ledger, NewExecution, RecordState
from gateway.store.outcomes import REPLAY_EVENT, final_state, replay
from gateway.store.sqlite import UnitOfWork
from gateway.to_the_end import to_the_end

RECONCILED_EVENT = "execution_reconciled"
NATIVE_REPLAY_WINDOW_S = 24 * 3600  # vendors keep their idempotency keys about this long

R = TypeVar("R", bound=Message)


class Lookup(enum.Enum):
    """What asking the vendor about an unknown outcome learned, short of its answer."""

    UNASKED = "unasked"  # the vendor cannot be asked, or did not say: still unknown
    NOT_ACTED = "not_acted"  # it never acted: safe to run


def new_id() -> str:
    return uuid.uuid4().hex


@dataclasses.dataclass(frozen=True)
class Action(Generic[R]):
    """One action to run at most once under ``key``, answered with an ``R``."""

    call: ActionCall
    key: KeyRef
    connector: Connector
    invoke: Invoke
    respond: Callable[[str, Mapping[str, Any], int], R]  # (execution id, result, attempts)
    response_type: type[R]  # what a replay decodes its stored answer into
    compensates: str = ""  # for a compensation: the execution it undoes


class AtMostOnce:
    def __init__(
        self,
        ledger: Ledger,
        keys: IdempotencyKeys,
        gate: ApprovalGate,
        attempts: AttemptPipeline,
    ) -> None:
        self._ledger = ledger
        self._keys = keys
        self._gate = gate
        self._attempts = attempts

    async def run(self, action: Action[R]) -> R:
        call, ref = action.call, action.key
        facts, tenant = call.facts, call.identity.tenant
        # The reservation, the approval's use and the requested row commit together, before
        # the vendor is called; the answer commits with the outcome row, before the reply.
        unit = call.audit.unit
        operation = call.target.operation
        execution = NewExecution(
            execution_id=new_id(),
            tenant=tenant,
            caller=call.identity.caller,
            connector_key=action.connector.key,
            operation=operation.name,
            idempotency_key=ref.key,
            payload_digest=facts.payload_digest,
            scope=ref.scope,
        )
        fresh = False
        # A re-send of a request whose first sending may have acted: a re-send that fails
        # without reaching the vendor learns nothing, so the outcome stays unknown.
        unknown_before = False
        while True:
            earlier = await self._keys.begin(
                key=ref.key,
                fingerprint=ref.fingerprint,
                execution=execution,
                deadline=call.deadline,
                unit=unit,
            )
            if earlier is None:
                fresh = True
                break
            if earlier.state is not RecordState.UNKNOWN:
                return self._replayed(action, earlier)
            resend = _can_resend(operation, earlier)
            if not resend:
                found = await self._reconcile(action, earlier)
                if found is Lookup.UNASKED:
                    return self._replayed(action, earlier)
                if found is not Lookup.NOT_ACTED:
                    if not action.compensates:
                        facts.execution_id = earlier.execution_id
                    return found
            # Either the vendor deduplicates by this key, so sending again learns the real
            # outcome, or it said it never acted: run it again under the earlier execution
            # (the action admitted then), once the key is ours (a concurrent repeat may be
            # doing the same).
            if await self._keys.claim(earlier, unit):
                execution = dataclasses.replace(execution, execution_id=earlier.execution_id)
                unknown_before = resend
                break
        if not action.compensates:
            facts.execution_id = execution.execution_id
        if fresh:
            try:
                await self._admit_new(call, execution.execution_id)
            except BaseException:
                await self._ledger.release(
                    tenant=tenant,
                    scope=ref.scope,
                    key=ref.key,
                    execution_id=execution.execution_id,
                    unit=unit,
                )
                self._keys.end(tenant, ref.scope, ref.key)
                raise
        log = AttemptLog()
        try:
            result = await self._attempts.run(
                Attempts(
                    tenant=tenant,
                    connector=action.connector,
                    operation=operation,
                    invoke=action.invoke,
                    deadline=call.deadline,
                    facts=facts,
                    audit=call.audit,
                    execution_id=execution.execution_id,
                    marker=_marker(action),
                ),
                log,
            )
        except GatewayError as error:
            raise await to_the_end(
                self._settle_failure(call, execution, error, log, unknown_before)
            ) from None
        except BaseException:
            # Cancelled or broken mid-call: if the vendor may have been reached, nobody knows.
            await to_the_end(self._abandon(call, execution, log, unknown_before))
            raise
        else:
            response = action.respond(execution.execution_id, result, log.attempts)
            await _even_if_cancelled(
                lambda: self._finish(
                    execution,
                    response,
                    attempts=log.attempts,
                    result=dict(result),
                    compensates=action.compensates,
                    unit=unit,
                )
            )
            return response
        finally:
            self._keys.end(tenant, ref.scope, ref.key)

    async def _admit_new(self, call: ActionCall, execution_id: str) -> None:
        """A new execution under this key: it uses the call's approval once. A repeat
        admitted without one whose earlier execution was meanwhile resolved as not acted is
        a new action after all: it needs a person's approval like any other."""
        if call.approval_id:
            await self._gate.use(call.approval_id, call.approval, execution_id, call.audit.unit)
        elif call.needs_approval:
            subject = call.approval
            await self._gate.require(
                subject,
                call.facts,
                {
                    "connector_key": subject.connector_key,
                    "operation": subject.operation,
                    "policy_class": "B",
                },
            )

    async def _finish(
        self,
        execution: NewExecution,
        answer: Message | GatewayError,
        *,
        attempts: int,
        result: dict[str, Any],
        compensates: str = "",
        unit: UnitOfWork | None = None,
    ) -> None:
        """Stores the final answer for the key and the execution's matching status; with
        ``unit``, durable with the unit (the outcome row's transaction)."""
        state, status, outcome = final_state(answer)
        await self._ledger.finish(
            tenant=execution.tenant,
            scope=execution.scope,
            key=execution.idempotency_key,
            execution_id=execution.execution_id,
            state=state,
            outcome=outcome,
            status=status,
            result=result,
            attempts=attempts,
            compensates=compensates,
            unit=unit,
        )

    async def _reconcile(self, action: Action[R], earlier: IdempotencyRecord) -> R | Lookup:
        """Asks the vendor about an unknown outcome: the stored answer when it acted."""
        call = action.call
        adapter = action.connector.adapter_for(call.identity.tenant)
        if not isinstance(adapter, Reconciler):
            return Lookup.UNASKED
        ctx = AttemptContext(
            call.identity.tenant,
            earlier.execution_id,
            earlier.execution_id,
            0,
            min(action.connector.metadata.timeout_ms / 1000, call.deadline.remaining()),
            marker=_marker(action),
        )
        try:
            async with asyncio.timeout(ctx.timeout_s + ATTEMPT_GUARD_S):
                lookup = await adapter.reconcile(
                    call.target.operation.name, call.target.payload, ctx
                )
        except (GatewayError, TimeoutError):
            return Lookup.UNASKED  # still unknown; the replay says so
        if not lookup.found:
            return Lookup.NOT_ACTED
        response = action.respond(earlier.execution_id, lookup.result, 0)
        await self._finish(
            NewExecution(
                execution_id=earlier.execution_id,
                tenant=earlier.tenant,
                caller="",
                connector_key=earlier.connector_key,
                operation=earlier.operation,
                idempotency_key=earlier.key,
                payload_digest="",
                scope=earlier.scope,
            ),
            response,
            attempts=0,
            result=dict(lookup.result),
            compensates=action.compensates,
        )
        call.facts.success_event = RECONCILED_EVENT
        response.replayed = True
        return response

    @staticmethod
    def _replayed(action: Action[R], record: IdempotencyRecord) -> R:
        facts = action.call.facts
        if not action.compensates:
            facts.execution_id = record.execution_id
        facts.success_event = facts.refusal_event = REPLAY_EVENT
        return replay(record, action.response_type)

    async def _settle_failure(
        self,
        call: ActionCall,
        execution: NewExecution,
        error: GatewayError,
        log: AttemptLog,
        unknown_before: bool,
    ) -> GatewayError:
        """Stores a final failure once the vendor may have been contacted (by this call, or
        by the earlier sending this one repeats); otherwise frees the key so the agent can
        send again with it once the cause is fixed."""
        call.facts.vendor_contacted = log.may_have_acted
        # A vendor that deduplicates by the key answers a rejection for the request itself,
        # however often it was sent: that settles the earlier sending too.
        learned_nothing = unknown_before and not isinstance(error, VendorRejected)
        if log.may_have_acted or learned_nothing:
            final = (
                error
                if isinstance(error, OutcomeUnknown)
                else OutcomeUnknown(
                    f"the request may have reached the vendor, and its outcome is not known "
                    f"({error.reason}: {error.message}); it is listed for operators",
                    metadata={**error.metadata, "cause": error.reason},
                )
            )
            # The execution operators find it under, and resolve.
            final.with_metadata(execution_id=execution.execution_id)
            await self._finish(
                execution, final, attempts=log.attempts, result={}, unit=call.audit.unit
            )
            return final
        if isinstance(error, VendorRejected):
            # The vendor answered: this request fails the same way every time.
            await self._finish(
                execution, error, attempts=log.attempts, result={}, unit=call.audit.unit
            )
            return error
        await self._release(call, execution)
        return error

    async def _release(self, call: ActionCall, execution: NewExecution) -> None:
        """The vendor never acted: frees the key, and gives back the approval the call used,
        so the agent can re-send the same request once the cause has cleared."""
        await self._ledger.release(
            tenant=execution.tenant,
            scope=execution.scope,
            key=execution.idempotency_key,
            execution_id=execution.execution_id,
            unit=call.audit.unit,
        )
        if call.approval_id:
            await self._gate.give_back(
                call.approval_id, execution.tenant, execution.execution_id, call.audit.unit
            )

    async def _abandon(
        self, call: ActionCall, execution: NewExecution, log: AttemptLog, unknown_before: bool
    ) -> None:
        if call.facts.vendor_contacted or unknown_before:
            unknown = OutcomeUnknown("the call was abandoned while the vendor was handling it")
            # The log counts finished attempts; the one cut off was started all the same.
            attempts = max(log.attempts, call.facts.attempts)
            await self._finish(
                execution, unknown, attempts=attempts, result={}, unit=call.audit.unit
            )
        else:
            await self._release(call, execution)


async def _even_if_cancelled(step: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Runs ``step``, a body kept in a unit of work, which waits only to take the store's
    lock. A cancellation that comes while it waits is held back until the body has run
    (``to_the_end``); run at once, ``step`` costs no task of its own and joins the commit of
    the rest of the phase."""
    try:
        await step()
    except asyncio.CancelledError:
        await to_the_end(step())
        raise


def _can_resend(operation: OperationSpec, record: IdempotencyRecord) -> bool:
    age_s = time.time() - record.created_at.timestamp()
    return operation.idempotency is Idempotency.NATIVE and age_s < NATIVE_REPLAY_WINDOW_S


def _marker(action: Action[Any]) -> str:
    """What the vendor knows this action by, on every attempt, re-send and lookup."""
    call = action.call
    return marker_for(
        call.identity.tenant,
        action.key,
        action.connector.key,
        call.target.operation.name,
        compensates=action.compensates,
    )
