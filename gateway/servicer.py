"""ConnectorService: runs the vendor call once the chain has admitted it.

Each method receives the ``Call`` the governance chain built (identity, resolved target,
deadline, audit trail) in place of a bare request message. Writes go through the idempotency
ledger, so a vendor call happens at most once per tenant and key; every attempt passes the
connector's circuit breaker and rate limit, inside the retry loop and the caller's deadline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from google.protobuf.message import Message

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.approvals.store import ApprovalStore
from gateway.contract import (
    Adapter,
    AttemptContext,
    Idempotency,
    OperationSpec,
    Reconciler,
    VendorContact,
)
from gateway.descriptors import circuit_state, descriptor, health_entry, to_struct
from gateway.errors import (
    DeadlineExceeded,
    ExecutionNotSucceeded,
    GatewayError,
    NotConfigured,
    OutcomeUnknown,
    VendorRejected,
)
from gateway.health_state import HealthTracker
from gateway.interceptors.base import Call, Context
from gateway.interceptors.policy import binding, require_approval
from gateway.interceptors.replay import REPLAY_EVENT
from gateway.metrics import MetricsRegistry
from gateway.redaction import redact_error
from gateway.registry import Connector, Registry
from gateway.reliability.guards import Guards
from gateway.reliability.idempotency import (
    IdempotencyKeys,
    error_outcome,
    replay,
    replay_outcome,
    response_outcome,
)
from gateway.reliability.retry import AttemptLog, RetryEngine
from gateway.store.ledger import (
    ExecutionStatus,
    IdempotencyRecord,
    Ledger,
    NewExecution,
    RecordState,
)
from gateway.to_the_end import to_the_end

ATTEMPT_GUARD_S = 0.01
RECONCILED_EVENT = "execution_reconciled"
NATIVE_REPLAY_WINDOW_S = 24 * 3600  # vendors keep their idempotency keys about this long

R = TypeVar("R", bound=Message)
Run = Callable[[AttemptContext], Awaitable[Mapping[str, Any]]]


def new_id() -> str:
    return uuid.uuid4().hex


class ConnectorServicer:
    def __init__(
        self,
        registry: Registry,
        ledger: Ledger,
        keys: IdempotencyKeys,
        health: HealthTracker,
        metrics: MetricsRegistry,
        retries: RetryEngine,
        guards: Guards,
        approvals: ApprovalStore,
        *,
        min_attempt_s: float = 0.05,
    ) -> None:
        self._approvals = approvals
        self._registry = registry
        self._ledger = ledger
        self._keys = keys
        self._health = health
        self._metrics = metrics
        self._retries = retries
        self._guards = guards
        self._min_attempt_s = min_attempt_s

    # --- actions ----------------------------------------------------------------------------

    async def Execute(self, call: Call, ctx: Context) -> pb.ExecuteResponse:
        assert call.target is not None
        target = call.target
        connector, adapter = self._usable(call, target.metadata.key)

        def run(attempt: AttemptContext) -> Awaitable[Mapping[str, Any]]:
            return adapter.execute(target.operation.name, target.payload, attempt)

        def respond(execution_id: str, result: Mapping[str, Any], attempts: int) -> Message:
            return pb.ExecuteResponse(
                execution_id=execution_id, result=to_struct(dict(result)), attempts=attempts
            )

        if target.operation.read_only:  # reads repeat freely: no key, no ledger
            call.facts.execution_id = new_id()
            if call.approval_id:  # a deployment made this read class B
                await self._consume_approval(call, call.facts.execution_id)
            log = AttemptLog()
            result = await self._attempts(call, connector, target.operation, run, log)
            return pb.ExecuteResponse(
                execution_id=call.facts.execution_id,
                result=to_struct(dict(result)),
                attempts=log.attempts,
            )
        return await self._once(
            call,
            connector,
            target.operation,
            run=run,
            respond=respond,
            response_type=pb.ExecuteResponse,
        )

    async def Compensate(self, call: Call, ctx: Context) -> pb.CompensateResponse:
        assert call.target is not None
        assert call.identity is not None
        assert call.execution is not None  # validation resolved it for this caller
        target = call.target
        connector, adapter = self._usable(call, target.metadata.key)
        execution = await self._ledger.execution(call.identity.tenant, call.execution.execution_id)
        assert execution is not None  # compensated executions are never pruned
        if execution.status is ExecutionStatus.COMPENSATED and execution.compensation:
            call.facts.success_event = call.facts.refusal_event = REPLAY_EVENT
            return replay_outcome(execution.compensation, pb.CompensateResponse)
        if execution.status is not ExecutionStatus.SUCCEEDED:
            raise ExecutionNotSucceeded(
                f"execution {execution.execution_id!r} has status {execution.status.value}; "
                "only a succeeded execution can be undone",
                metadata={"execution_id": execution.execution_id, "status": execution.status.value},
            )

        def run(attempt: AttemptContext) -> Awaitable[Mapping[str, Any]]:
            return adapter.compensate(target.operation.name, execution.result, attempt)

        def respond(_: str, result: Mapping[str, Any], attempts: int) -> Message:
            return pb.CompensateResponse(
                execution_id=execution.execution_id,
                compensating_operation=target.operation.name,
                result=to_struct(dict(result)),
                attempts=attempts,
            )

        # The key is the execution's, tenant-wide: an execution is undone at most once, and
        # once undone its own record answers every later Compensate (see the replay layer).
        return await self._once(
            call,
            connector,
            target.operation,
            run=run,
            respond=respond,
            response_type=pb.CompensateResponse,
            compensates=execution.execution_id,
        )

    def _usable(self, call: Call, key: str) -> tuple[Connector, Adapter]:
        """The connector and the adapter acting with the caller's tenant's own account."""
        assert call.identity is not None
        connector = self._registry.get(key)
        assert connector is not None  # validation resolved it
        adapter = connector.adapter_for(call.identity.tenant)
        if adapter is None or not connector.registered or not adapter.configured:
            raise NotConfigured.for_tenant(key)
        return connector, adapter

    # --- at most once -----------------------------------------------------------------------

    async def _once(
        self,
        call: Call,
        connector: Connector,
        operation: OperationSpec,
        *,
        run: Run,
        respond: Callable[[str, Mapping[str, Any], int], Message],
        response_type: type[R],
        compensates: str = "",
    ) -> R:
        assert call.identity is not None
        assert call.deadline is not None
        assert call.key is not None  # the replay layer named the key
        facts = call.facts
        tenant = call.identity.tenant
        ref = call.key
        execution = NewExecution(
            execution_id=new_id(),
            tenant=tenant,
            caller=call.identity.caller,
            connector_key=connector.key,
            operation=operation.name,
            idempotency_key=ref.key,
            payload_digest=facts.payload_digest,
            scope=ref.scope,
        )
        fresh = False
        while True:
            earlier = await self._keys.begin(
                key=ref.key,
                fingerprint=ref.fingerprint,
                execution=execution,
                deadline=call.deadline,
            )
            if earlier is None:
                fresh = True
                break
            if earlier.state is not RecordState.UNKNOWN:
                return self._replayed(call, earlier, response_type, compensates)
            if not self._can_resend(operation, earlier):
                found = await self._reconcile(call, connector, operation, earlier, respond)
                if found is None:
                    return self._replayed(call, earlier, response_type, compensates)
                if found is not False:
                    assert isinstance(found, response_type)
                    if not compensates:
                        facts.execution_id = earlier.execution_id
                    return found
            # Either the vendor deduplicates by this key, so sending again learns the real
            # outcome, or it said it never acted: run it again under the earlier execution
            # (the action admitted then), once the key is ours (a concurrent repeat may be
            # doing the same).
            if await self._keys.claim(earlier):
                execution = dataclasses.replace(execution, execution_id=earlier.execution_id)
                break
        if not compensates:
            facts.execution_id = execution.execution_id
        if fresh:
            try:
                await self._admit_new(call, execution.execution_id)
            except BaseException:
                await self._ledger.release(
                    tenant=tenant, scope=ref.scope, key=ref.key, execution_id=execution.execution_id
                )
                self._keys.end(tenant, ref.scope, ref.key)
                raise
        log = AttemptLog()
        try:
            result = await self._attempts(
                call,
                connector,
                operation,
                run,
                log,
                execution_id=execution.execution_id,
            )
        except GatewayError as error:
            # Recorded to the end even if the call is cancelled meanwhile (the deadline's
            # backstop): the answer then given names an execution operators can find.
            raise await to_the_end(
                self._settle_failure(call, execution, operation, error, log)
            ) from None
        except BaseException:
            # Cancelled or broken mid-call: if the vendor may have been reached, nobody knows.
            # The caller going away must not stop the record of what happened.
            await to_the_end(self._abandon(call, execution, log))
            raise
        else:
            response = respond(execution.execution_id, result, log.attempts)
            await to_the_end(
                self._finish(
                    execution,
                    response,
                    attempts=log.attempts,
                    result=dict(result),
                    compensates=compensates,
                )
            )
            assert isinstance(response, response_type)
            return response
        finally:
            self._keys.end(tenant, ref.scope, ref.key)

    async def _admit_new(self, call: Call, execution_id: str) -> None:
        """A new execution under this key: it uses the call's approval once. A repeat
        admitted without one whose earlier execution was meanwhile resolved as not acted is
        a new action after all: it needs a person's approval like any other."""
        if call.approval_id:
            await self._consume_approval(call, execution_id)
        elif call.needs_approval:
            assert call.target is not None
            await require_approval(
                self._approvals,
                call,
                {
                    "connector_key": call.target.metadata.key,
                    "operation": call.target.operation.name,
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
    ) -> None:
        """Stores the final answer for the key: a response, a final failure, or an unknown
        outcome, and the execution's matching status."""
        if isinstance(answer, OutcomeUnknown):
            state, status, outcome = (
                RecordState.UNKNOWN,
                ExecutionStatus.UNKNOWN,
                error_outcome(answer),
            )
        elif isinstance(answer, GatewayError):
            state, status, outcome = (
                RecordState.COMPLETED,
                ExecutionStatus.FAILED,
                error_outcome(answer),
            )
        else:
            state, status = RecordState.COMPLETED, ExecutionStatus.SUCCEEDED
            outcome = response_outcome(answer)
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
        )

    async def _consume_approval(self, call: Call, used_by: str) -> None:
        """Uses the call's granted approval once; a second use is refused (APPROVAL_USED)."""
        assert call.identity is not None
        assert call.target is not None
        await self._approvals.consume(
            approval_id=call.approval_id,
            caller=call.identity.caller,
            **binding(call),
            used_by_execution_id=used_by,
        )

    async def _reconcile(
        self,
        call: Call,
        connector: Connector,
        operation: OperationSpec,
        earlier: IdempotencyRecord,
        respond: Callable[[str, Mapping[str, Any], int], Message],
    ) -> Message | bool | None:
        """Asks the vendor about an unknown outcome: the stored answer when it acted, False
        when it did not (safe to run), None when it cannot be asked."""
        adapter = connector.adapter_for(call.identity.tenant) if call.identity else None
        if not isinstance(adapter, Reconciler) or call.target is None or call.deadline is None:
            return None
        ctx = AttemptContext(
            call.identity.tenant,
            earlier.execution_id,
            earlier.execution_id,
            0,
            min(connector.metadata.timeout_ms / 1000, call.deadline.remaining()),
        )
        try:
            async with asyncio.timeout(ctx.timeout_s + ATTEMPT_GUARD_S):
                lookup = await adapter.reconcile(operation.name, call.target.payload, ctx)
        except (GatewayError, TimeoutError):
            return None  # still unknown; the replay says so
        if not lookup.found:
            return False
        response = respond(earlier.execution_id, lookup.result, 0)
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
            compensates=call.execution.execution_id if call.execution else "",
        )
        call.facts.success_event = RECONCILED_EVENT
        response.replayed = True
        return response

    @staticmethod
    def _can_resend(operation: OperationSpec, record: IdempotencyRecord) -> bool:
        age_s = time.time() - record.created_at.timestamp()
        return operation.idempotency is Idempotency.NATIVE and age_s < NATIVE_REPLAY_WINDOW_S

    @staticmethod
    def _replayed(
        call: Call, record: IdempotencyRecord, response_type: type[R], compensates: str
    ) -> R:
        facts = call.facts
        if not compensates:
            facts.execution_id = record.execution_id
        facts.success_event = facts.refusal_event = REPLAY_EVENT
        return replay(record, response_type)

    async def _settle_failure(
        self,
        call: Call,
        execution: NewExecution,
        operation: OperationSpec,
        error: GatewayError,
        log: AttemptLog,
    ) -> GatewayError:
        """Stores a final failure once the vendor may have been contacted; otherwise frees the
        key so the agent can send again with it once the cause is fixed."""
        call.facts.vendor_contacted = log.may_have_acted
        if log.may_have_acted:
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
            await self._finish(execution, final, attempts=log.attempts, result={})
            return final
        if isinstance(error, VendorRejected):
            # The vendor answered: this request fails the same way every time.
            await self._finish(execution, error, attempts=log.attempts, result={})
            return error
        await self._release(call, execution)
        return error

    async def _release(self, call: Call, execution: NewExecution) -> None:
        """The vendor never acted: frees the key, and gives back the approval the call used,
        so the agent can re-send the same request once the cause has cleared."""
        await self._ledger.release(
            tenant=execution.tenant,
            scope=execution.scope,
            key=execution.idempotency_key,
            execution_id=execution.execution_id,
        )
        if call.approval_id:
            await self._approvals.restore(
                tenant=execution.tenant,
                approval_id=call.approval_id,
                used_by_execution_id=execution.execution_id,
            )

    async def _abandon(self, call: Call, execution: NewExecution, log: AttemptLog) -> None:
        if call.facts.vendor_contacted:
            unknown = OutcomeUnknown("the call was abandoned while the vendor was handling it")
            # The log counts finished attempts; the one cut off was started all the same.
            attempts = max(log.attempts, call.facts.attempts)
            await self._finish(execution, unknown, attempts=attempts, result={})
        else:
            await self._release(call, execution)

    # --- attempts ---------------------------------------------------------------------------

    async def _attempts(
        self,
        call: Call,
        connector: Connector,
        operation: OperationSpec,
        run: Run,
        log: AttemptLog,
        *,
        execution_id: str = "",
    ) -> Mapping[str, Any]:
        assert call.deadline is not None
        assert call.identity is not None
        deadline = call.deadline
        facts = call.facts
        tenant = call.identity.tenant
        meta = connector.metadata
        breaker = self._guards.breaker(tenant, connector.key)
        bucket = self._guards.bucket(tenant, meta)
        execution_id = execution_id or facts.execution_id

        def contacted() -> None:
            facts.vendor_contacted = True

        async def attempt(number: int, timeout_s: float) -> Mapping[str, Any]:
            trial = breaker.admit()
            try:
                await bucket.acquire(max(0.0, deadline.remaining() - self._min_attempt_s))
            except BaseException:
                breaker.release(trial=trial)
                raise
            timeout_s = min(timeout_s, deadline.remaining())
            if timeout_s < self._min_attempt_s:
                breaker.release(trial=trial)
                raise DeadlineExceeded(
                    "the deadline ran out before the vendor could be called",
                    metadata={"attempts": str(number - 1)},
                )
            if number == 1:
                await call.audit.requested()
            facts.attempts = number
            # The adapter reports when the vendor may start acting; only then may a failure
            # it cannot classify (a bug, the guard below, a cancellation) have acted.
            contact = VendorContact(contacted)
            # The vendor deduplicates by the execution: the same id on every attempt and on
            # every re-send of an unknown outcome, distinct for every other action.
            context = AttemptContext(tenant, execution_id, execution_id, number, timeout_s, contact)
            try:
                # Adapters bound their own attempts and know how far the request got; this
                # guard only stops one that overruns its timeout.
                async with asyncio.timeout(timeout_s + ATTEMPT_GUARD_S):
                    result = await run(context)
            except TimeoutError:
                breaker.record(vendor_failure=True, trial=trial)
                overrun = self._overrun(operation, timeout_s, contact.reported)
                facts.vendor_contacted = log.may_have_acted or overrun.may_have_acted
                raise overrun from None
            except GatewayError as error:
                breaker.record(vendor_failure=error.vendor_fault, trial=trial)
                redact_error(error, meta.data_classification)  # what the vendor said stays out
                facts.vendor_contacted = log.may_have_acted or error.may_have_acted
                raise
            except BaseException:
                breaker.release(trial=trial)
                raise
            breaker.record(vendor_failure=False, trial=trial)
            return result

        started = time.monotonic()
        try:
            result = await self._retries.run(
                attempt,
                policy=meta.retry_policy,
                operation=operation,
                timeout_ms=meta.timeout_ms,
                deadline=deadline,
                log=log,
            )
        except GatewayError as error:
            error.with_metadata(attempts=str(log.attempts), connector_key=connector.key)
            facts.attempts = log.attempts
            if log.attempts:
                await self._observe(call, connector, started, log, error)
            raise
        facts.attempts = log.attempts
        await self._observe(call, connector, started, log, None)
        return result

    @staticmethod
    def _overrun(operation: OperationSpec, timeout_s: float, contacted: bool) -> GatewayError:
        details = {"timed_out": "true", "timeout_ms": str(round(timeout_s * 1000))}
        if not contacted:
            return DeadlineExceeded(
                "the connector did not reach the vendor in time; nothing was sent",
                metadata=details,
                may_have_acted=False,
            )
        if operation.read_only:
            return DeadlineExceeded("the vendor did not answer in time", metadata=details)
        return OutcomeUnknown(
            "the vendor did not answer in time and the request may have reached it; "
            "check with the vendor before repeating it",
            metadata=details,
        )

    async def _observe(
        self,
        call: Call,
        connector: Connector,
        started: float,
        log: AttemptLog,
        error: GatewayError | None,
    ) -> None:
        assert call.identity is not None
        tenant, key = call.identity.tenant, connector.key
        self._metrics.record(
            tenant,
            key,
            code=error.code.name if error else "OK",
            latency_ms=(time.monotonic() - started) * 1000,
            attempts=log.attempts,
            timed_out=isinstance(error, DeadlineExceeded)
            or (error is not None and error.metadata.get("timed_out") == "true"),
        )
        if error is None:
            await self._health.record_success(tenant, key)
        else:
            await self._health.record_failure(tenant, key, error)

    # --- reads ------------------------------------------------------------------------------

    def _selected(self, key: str) -> list[Connector]:
        connector = self._registry.get(key) if key else None
        return [connector] if connector else self._registry.all()

    async def Health(self, call: Call, ctx: Context) -> pb.HealthResponse:
        assert call.identity is not None
        entries = []
        for connector in self._selected(call.request.connector_key):
            state = await self._health.get(call.identity.tenant, connector.key)
            breaker = self._guards.breaker(call.identity.tenant, connector.key)
            entries.append(health_entry(connector, call.identity.tenant, state, breaker.state))
        return pb.HealthResponse(connectors=entries)

    async def Metrics(self, call: Call, ctx: Context) -> pb.MetricsResponse:
        tenant = self._tenant(call)
        entries = []
        for connector in self._selected(call.request.connector_key):
            c = self._metrics.counters(tenant, connector.key)
            entries.append(
                pb.ConnectorMetrics(
                    connector_key=connector.key,
                    calls=c.calls,
                    successes=c.successes,
                    failures_by_code=dict(c.failures_by_code),
                    retries=c.retries,
                    timeouts=c.timeouts,
                    latency_p50_ms=c.percentile(50),
                    latency_p95_ms=c.percentile(95),
                    latency_p99_ms=c.percentile(99),
                    circuit_state=circuit_state(self._guards.breaker(tenant, connector.key).state),
                )
            )
        return pb.MetricsResponse(connectors=entries)

    async def ListConnectors(self, call: Call, ctx: Context) -> pb.ListConnectorsResponse:
        return pb.ListConnectorsResponse(
            connectors=[
                descriptor(c, self._registry, self._tenant(call)) for c in self._registry.all()
            ]
        )

    async def DescribeConnector(self, call: Call, ctx: Context) -> pb.DescribeConnectorResponse:
        connector = self._registry.get(call.request.connector_key)
        assert connector is not None  # validation resolved it
        return pb.DescribeConnectorResponse(
            connector=descriptor(connector, self._registry, self._tenant(call))
        )

    @staticmethod
    def _tenant(call: Call) -> str:
        assert call.identity is not None
        return call.identity.tenant
