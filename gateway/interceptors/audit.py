"""Audit: every governed action and every refusal leaves a row in the hash-chained trail.

Outermost of the governance layers, so that a refusal by any inner layer is recorded with
whatever that layer had learned. Refusals of unauthenticated calls are the one exception:
beyond a per-peer budget they are counted into a summary row instead
(``gateway.audit.refusal_limiter``), so that anyone on the network cannot make the gateway
write, and fsync, a row per call. For actions (Execute, Compensate) the servicer writes the
``*_requested`` row through ``CallAudit.requested`` just before the vendor is touched, and
this layer writes the outcome row; the reply leaves only once that row is durable. Rows are
enqueued before the first await and awaited under ``asyncio.shield``, so a caller that goes
away cannot cancel them.

Rows are built by ``gateway.audit.events.call_event``, which redacts a row's ``detail`` by the
data classification of the call's connector.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from google.protobuf.message import Message

from gateway.audit.events import (
    REQUEST_REJECTED,
    Classify,
    Sandboxed,
    call_event,
    confidential,
    never,
)
from gateway.audit.record import AuditEvent, AuditLog, Outcome, StoredEvent
from gateway.call import Call, Context
from gateway.contract import DataClassification
from gateway.errors import GatewayError, Internal, OutcomeUnknown
from gateway.interceptors.base import Next
from gateway.registry import Registry
from gateway.store.sqlite import UnitOfWork

if TYPE_CHECKING:
    from gateway.audit.refusal_limiter import RefusalLimiter

# Told how long a tenant's call waited for one of its rows to be durable (the metrics).
WriteObserver = Callable[[str, float], None]


def _unobserved(tenant: str, seconds: float) -> None:
    pass


def classified_by(registry: Registry) -> Classify:
    def classify(key: str) -> DataClassification:
        connector = registry.get(key) if key else None
        return connector.metadata.data_classification if connector else confidential(key)

    return classify


def sandboxed_by(registry: Registry) -> Sandboxed:
    def sandboxed(tenant: str, key: str) -> bool:
        connector = registry.get(key)
        return connector is not None and connector.sandboxed_for(tenant)

    return sandboxed


class CallAudit:
    """The audit trail of one call, handed to the servicer."""

    def __init__(
        self,
        log: AuditLog,
        call: Call,
        classify: Classify = confidential,
        sandboxed: Sandboxed = never,
        observe_write: WriteObserver = _unobserved,
    ) -> None:
        self._log = log
        self._call = call
        self._classify = classify
        self._sandboxed = sandboxed
        self._observe_write = observe_write
        self.requested_written = False
        # The call's phases: its changes before the vendor is called (the key, the approval
        # used, the requested row) commit together, and so do those before it answers.
        self.unit = UnitOfWork()

    def event(
        self,
        event_type: str,
        outcome: Outcome,
        *,
        error: GatewayError | None = None,
        status_code: str = "OK",
        reason: str = "",
    ) -> AuditEvent:
        return call_event(
            self._call,
            event_type,
            outcome,
            error=error,
            status_code=status_code,
            reason=reason,
            classify=self._classify,
            sandboxed=self._sandboxed,
        )

    async def write(self, event: AuditEvent) -> StoredEvent:
        """Writes the row with whatever else the phase changed; returns once all of it is
        durable."""
        started = time.monotonic()
        stored = await self._log.record(event, self.unit)
        await self.unit.durable()
        if event.tenant:  # an unauthenticated refusal belongs to no tenant's figures
            self._observe_write(event.tenant, time.monotonic() - started)
        return stored

    async def requested(self, *, durable: bool = True) -> None:
        """Records that the vendor is about to be called: durably, with the rest of the
        phase, before the call goes on; or (a read, which acts on nothing) in the unit only,
        committed in the background and awaited with the outcome row."""
        event = self.event(self._call.rule.events.requested, Outcome.REQUESTED)
        if durable:
            await self.write(event)
        else:
            await self._log.record(event, self.unit)
        self.requested_written = True


def _events(call: Call) -> tuple[str, str]:
    """The success and failure events: what the call learned (an operation's own events, a
    replay), else its method's."""
    facts, events = call.facts, call.rule.events
    return (facts.success_event or events.succeeded, facts.failure_event or events.failed)


class AuditLayer:
    name = "audit"

    def __init__(
        self,
        log: AuditLog,
        refusals: RefusalLimiter,
        classify: Classify = confidential,
        sandboxed: Sandboxed = never,
        observe_write: WriteObserver = _unobserved,
    ) -> None:
        self._log = log
        self._refusals = refusals
        self._classify = classify
        self._sandboxed = sandboxed
        self._observe_write = observe_write

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        audit = CallAudit(self._log, call, self._classify, self._sandboxed, self._observe_write)
        try:
            response = await call_next(call.with_(audit=audit))
        except GatewayError as error:
            if not call.facts.caller and not self._refusals.admit(ctx.peer(), error):
                raise  # over the peer's budget: counted for its summary row
            await audit.write(self._failure_event(audit, call, error))
            raise
        except asyncio.CancelledError:
            # The caller went away. If the vendor may have acted, the outcome is unknown.
            if audit.requested_written:
                await audit.write(
                    audit.event(
                        _events(call)[1],
                        Outcome.UNKNOWN,
                        status_code="CANCELLED",
                        reason=OutcomeUnknown.reason,
                    )
                )
            else:
                await audit.write(
                    audit.event(REQUEST_REJECTED, Outcome.REFUSED, status_code="CANCELLED")
                )
            raise
        except Exception:
            # Answered INTERNAL by the status mapping outside: the row says so, with the
            # trace id the caller quotes.
            await audit.write(
                audit.event(
                    _events(call)[1] if audit.requested_written else REQUEST_REJECTED,
                    Outcome.UNKNOWN if call.facts.vendor_contacted else Outcome.FAILED,
                    status_code=Internal.code.name,
                    reason=Internal.reason,
                )
            )
            raise
        if call.rule.audited:
            stored = await audit.write(audit.event(_events(call)[0], Outcome.SUCCEEDED))
            if "audit_event_id" in response.DESCRIPTOR.fields_by_name:
                response.audit_event_id = stored.event_id  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _failure_event(audit: CallAudit, call: Call, error: GatewayError) -> AuditEvent:
        if audit.requested_written:
            outcome = Outcome.UNKNOWN if isinstance(error, OutcomeUnknown) else Outcome.FAILED
            return audit.event(_events(call)[1], outcome, error=error)
        return audit.event(
            call.facts.refusal_event or REQUEST_REJECTED, Outcome.REFUSED, error=error
        )
