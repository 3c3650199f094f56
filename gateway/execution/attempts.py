"""The attempt pipeline: every attempt at a vendor passes the same guards, in one order.

circuit breaker -> rate-limit token -> time left -> ``*_requested`` audit row (first attempt)
-> adapter, bounded by the attempt's timeout (and traced: ``gateway.vendor_trace``) -> breaker,
metrics and health record the outcome

The retry loop around it repeats what is safe to repeat (``gateway/reliability/retry.py``).
The adapter reports when the vendor may start acting (``VendorContact``); a failure it cannot
classify counts as "may have acted" only after that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

from gateway.call import AuditHandle, CallFacts, Deadline
from gateway.contract import AttemptContext, OperationSpec, VendorContact
from gateway.errors import DeadlineExceeded, GatewayError, OutcomeUnknown
from gateway.health_state import HealthTracker
from gateway.metrics import MetricsRegistry
from gateway.redaction import redact_error
from gateway.registry import Connector
from gateway.reliability.guards import Guards
from gateway.reliability.retry import AttemptLog, RetryEngine
from gateway.vendor_trace import VendorAttempt, attempt_scope

ATTEMPT_GUARD_S = 0.01  # an adapter bounds its own attempt; this only stops an overrun

Invoke = Callable[[AttemptContext], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Attempts:
    """One action's run at a vendor: where, what, by when, and what to record."""

    tenant: str
    connector: Connector
    operation: OperationSpec
    invoke: Invoke
    deadline: Deadline
    facts: CallFacts
    audit: AuditHandle
    execution_id: str
    marker: str = ""  # the vendor deduplicates by it: the same on every attempt and re-send


class AttemptPipeline:
    def __init__(
        self,
        guards: Guards,
        retries: RetryEngine,
        health: HealthTracker,
        metrics: MetricsRegistry,
        *,
        tracer: trace.Tracer | None = None,
        min_attempt_s: float = 0.05,
    ) -> None:
        self._guards = guards
        self._retries = retries
        self._health = health
        self._metrics = metrics
        self._tracer = tracer or trace.NoOpTracer()
        self._min_attempt_s = min_attempt_s

    async def run(self, run: Attempts, log: AttemptLog) -> Mapping[str, Any]:
        """The vendor's result, after as many attempts as the retry policy and the deadline
        allow; raises the last attempt's error (with ``attempts`` and ``connector_key``)."""
        connector, deadline, facts = run.connector, run.deadline, run.facts
        meta = connector.metadata
        breaker = self._guards.breaker(run.tenant, connector.key)
        bucket = self._guards.bucket(run.tenant, meta)

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
                # A write's row (with its key) is durable before the vendor may act; a read
                # acts on nothing, so it does not wait for its row (the reply does).
                await run.audit.requested(durable=not run.operation.read_only)
            facts.attempts = number
            contact = VendorContact(contacted)
            context = AttemptContext(
                run.tenant,
                run.execution_id,
                run.execution_id,
                number,
                timeout_s,
                contact,
                marker=run.marker,
            )
            try:
                with attempt_scope(self._traced(run, number)):
                    async with asyncio.timeout(timeout_s + ATTEMPT_GUARD_S):
                        result = await run.invoke(context)
            except TimeoutError:
                breaker.record(vendor_failure=True, trial=trial)
                overrun = _overrun(run.operation, timeout_s, contact.reported)
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
                operation=run.operation,
                timeout_ms=meta.timeout_ms,
                deadline=deadline,
                log=log,
            )
        except GatewayError as error:
            error.with_metadata(attempts=str(log.attempts), connector_key=connector.key)
            facts.attempts = log.attempts
            if log.attempts:
                await self._observe(run, started, log, error)
            raise
        facts.attempts = log.attempts
        await self._observe(run, started, log, None)
        return result

    def _traced(self, run: Attempts, number: int) -> VendorAttempt | None:
        """The attempt, for the spans of its exchanges with the vendor; None when the call
        is not sampled (nothing would record them)."""
        if not trace.get_current_span().is_recording():
            return None
        return VendorAttempt(
            self._tracer,
            run.connector.key,
            run.operation.name,
            number,
            run.connector.metadata.data_classification,
        )

    async def _observe(
        self, run: Attempts, started: float, log: AttemptLog, error: GatewayError | None
    ) -> None:
        tenant, key = run.tenant, run.connector.key
        self._metrics.record(
            tenant,
            key,
            run.operation.name,
            sandbox=run.connector.sandboxed_for(tenant),
            code=error.code.name if error else "OK",
            reason=error.reason if error else "",
            seconds=time.monotonic() - started,
            attempts=log.attempts,
            timed_out=isinstance(error, DeadlineExceeded)
            or (error is not None and error.metadata.get("timed_out") == "true"),
        )
        if error is None:
            await self._health.record_success(tenant, key)
        else:
            await self._health.record_failure(tenant, key, error)


def _overrun(operation: OperationSpec, timeout_s: float, contacted: bool) -> GatewayError:
    """An adapter overran its attempt's timeout: what that means depends on whether it had
    reported contact with the vendor, and whether the operation acts."""
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
