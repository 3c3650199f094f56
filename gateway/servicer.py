"""ConnectorService: runs the vendor call once the chain has admitted it.

Each method receives the ``Call`` the governance chain built (identity, resolved target,
deadline, audit trail) in place of a bare request message.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.contract import AttemptContext
from gateway.descriptors import descriptor, health_entry, to_struct
from gateway.errors import DeadlineExceeded, GatewayError, NotConfigured, OutcomeUnknown
from gateway.health_state import HealthTracker
from gateway.interceptors.audit import CallAudit
from gateway.interceptors.base import Call, Context
from gateway.metrics import MetricsRegistry
from gateway.registry import Connector, Registry
from gateway.store.executions import ExecutionStore

ATTEMPT_GUARD_S = 0.01


class ConnectorServicer:
    def __init__(
        self,
        registry: Registry,
        executions: ExecutionStore,
        health: HealthTracker,
        metrics: MetricsRegistry,
    ) -> None:
        self._registry = registry
        self._executions = executions
        self._health = health
        self._metrics = metrics

    # --- actions ----------------------------------------------------------------------------

    async def Execute(self, call: Call, ctx: Context) -> pb.ExecuteResponse:
        assert call.target is not None
        assert call.identity is not None
        facts = call.facts
        connector = self._usable(call.target.metadata.key)
        facts.execution_id = uuid.uuid4().hex
        result = await self._run(
            call,
            connector,
            lambda attempt: connector.adapter.execute(
                call.target.operation.name,
                call.target.payload,
                attempt,
            ),
        )
        return pb.ExecuteResponse(
            execution_id=facts.execution_id, result=to_struct(dict(result)), attempts=facts.attempts
        )

    async def Compensate(self, call: Call, ctx: Context) -> pb.CompensateResponse:
        assert call.target is not None
        assert call.identity is not None
        connector = self._usable(call.target.metadata.key)
        execution = await self._executions.get(call.identity.tenant, call.facts.execution_id)
        assert execution is not None  # validation resolved it for this tenant
        result = await self._run(
            call,
            connector,
            lambda attempt: connector.adapter.compensate(
                call.target.operation.name,
                execution.result,
                attempt,
            ),
            record=False,
        )
        return pb.CompensateResponse(
            execution_id=execution.execution_id,
            compensating_operation=call.target.operation.name,
            result=to_struct(dict(result)),
            attempts=call.facts.attempts,
        )

    def _usable(self, key: str) -> Connector:
        connector = self._registry.get(key)
        assert connector is not None  # validation resolved it
        if not connector.registered or not connector.adapter.configured:
            raise NotConfigured(
                f"connector {key!r} is not configured in this gateway (no adapter or no "
                "credentials); an operator must configure it",
                metadata={"connector_key": key},
            )
        return connector

    async def _run(
        self, call: Call, connector: Connector, attempt_fn: Any, *, record: bool = True
    ) -> Mapping[str, Any]:
        assert call.deadline is not None
        assert call.identity is not None
        audit: CallAudit = call.audit
        facts = call.facts
        tenant, key = call.identity.tenant, connector.key
        await audit.requested()
        started = time.monotonic()
        timeout_s = min(connector.metadata.timeout_ms / 1000, call.deadline.remaining())
        try:
            if timeout_s <= 0:
                raise DeadlineExceeded("the deadline ran out before the vendor could be called")
            facts.attempts = 1
            facts.vendor_contacted = True
            attempt = AttemptContext(
                tenant, facts.execution_id, facts.idempotency_key, 1, timeout_s
            )
            try:
                # Adapters bound their own attempts and know how far the request got; this
                # guard only stops one that overruns its timeout.
                async with asyncio.timeout(timeout_s + ATTEMPT_GUARD_S):
                    result: Mapping[str, Any] = await attempt_fn(attempt)
            except TimeoutError:
                raise self._overrun(call, timeout_s) from None
        except GatewayError as error:
            error.with_metadata(attempts=str(facts.attempts), connector_key=key)
            facts.vendor_contacted = isinstance(error, OutcomeUnknown)
            await self._observe(call, connector, started, error)
            if record:
                await self._record(call, "unknown" if facts.vendor_contacted else "failed", {})
            raise
        await self._observe(call, connector, started, None)
        if record:
            await self._record(call, "succeeded", dict(result))
        return result

    @staticmethod
    def _overrun(call: Call, timeout_s: float) -> GatewayError:
        assert call.target is not None
        details = {"timed_out": "true", "timeout_ms": str(round(timeout_s * 1000))}
        if call.target.operation.read_only:
            return DeadlineExceeded("the vendor did not answer in time", metadata=details)
        return OutcomeUnknown(
            "the vendor did not answer in time and the request may have reached it; "
            "check with the vendor before repeating it",
            metadata=details,
        )

    async def _record(self, call: Call, status: str, result: dict[str, Any]) -> None:
        assert call.identity is not None
        assert call.target is not None
        facts = call.facts
        await self._executions.record(
            execution_id=facts.execution_id,
            tenant=call.identity.tenant,
            caller=call.identity.caller,
            connector_key=facts.connector_key,
            operation=facts.operation,
            idempotency_key=facts.idempotency_key,
            payload_digest=facts.payload_digest,
            status=status,
            result=result,
            attempts=facts.attempts,
        )

    async def _observe(
        self, call: Call, connector: Connector, started: float, error: GatewayError | None
    ) -> None:
        assert call.identity is not None
        tenant, key = call.identity.tenant, connector.key
        self._metrics.record(
            key,
            code=error.code.name if error else "OK",
            latency_ms=(time.monotonic() - started) * 1000,
            attempts=call.facts.attempts,
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
            entries.append(health_entry(connector, state))
        return pb.HealthResponse(connectors=entries)

    async def Metrics(self, call: Call, ctx: Context) -> pb.MetricsResponse:
        entries = []
        for connector in self._selected(call.request.connector_key):
            c = self._metrics.counters(connector.key)
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
                )
            )
        return pb.MetricsResponse(connectors=entries)

    async def ListConnectors(self, call: Call, ctx: Context) -> pb.ListConnectorsResponse:
        return pb.ListConnectorsResponse(
            connectors=[descriptor(c, self._registry) for c in self._registry.all()]
        )

    async def DescribeConnector(self, call: Call, ctx: Context) -> pb.DescribeConnectorResponse:
        connector = self._registry.get(call.request.connector_key)
        assert connector is not None  # validation resolved it
        return pb.DescribeConnectorResponse(connector=descriptor(connector, self._registry))
