"""ConnectorService: the RPC face of actions and of the connectors' contracts and health.

Each method receives the call the governance chain admitted (identity, deadline, audit trail,
and for actions the resolved target and key) in place of a bare request message. Writes run
at most once under their key (``gateway.execution.once``); reads repeat freely.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.approvals.gate import ApprovalGate
from gateway.call import Admitted, AdmittedAction, AdmittedCompensation, Context
from gateway.contract import Adapter, AttemptContext
from gateway.descriptors import circuit_state, descriptor, health_entry, to_struct
from gateway.errors import ExecutionNotSucceeded, NotConfigured
from gateway.execution.attempts import AttemptPipeline, Attempts
from gateway.execution.once import Action, AtMostOnce, new_id
from gateway.health_state import HealthTracker
from gateway.metrics import MetricsRegistry
from gateway.registry import Connector, Registry
from gateway.reliability.guards import Guards
from gateway.reliability.retry import AttemptLog
from gateway.store.ledger import ExecutionStatus, Ledger
from gateway.store.outcomes import REPLAY_EVENT, replay_outcome


class ConnectorServicer:
    def __init__(
        self,
        registry: Registry,
        ledger: Ledger,
        once: AtMostOnce,
        attempts: AttemptPipeline,
        gate: ApprovalGate,
        health: HealthTracker,
        metrics: MetricsRegistry,
        guards: Guards,
    ) -> None:
        self._registry = registry
        self._ledger = ledger
        self._once = once
        self._attempts = attempts
        self._gate = gate
        self._health = health
        self._metrics = metrics
        self._guards = guards

    # --- actions ----------------------------------------------------------------------------

    async def Execute(
        self, call: AdmittedAction[pb.ExecuteRequest], ctx: Context
    ) -> pb.ExecuteResponse:
        target = call.target
        connector, adapter = self._usable(call.tenant, target.metadata.key)

        def invoke(attempt: AttemptContext) -> Awaitable[Mapping[str, Any]]:
            return adapter.execute(target.operation.name, target.payload, attempt)

        def respond(
            execution_id: str, result: Mapping[str, Any], attempts: int
        ) -> pb.ExecuteResponse:
            return pb.ExecuteResponse(
                execution_id=execution_id, result=to_struct(dict(result)), attempts=attempts
            )

        if call.key is None:  # a read: repeats freely, no key, no ledger
            execution_id = call.facts.execution_id = new_id()
            if call.approval_id:  # a deployment made this read class B
                await self._gate.use(call.approval_id, call.approval, execution_id)
            log = AttemptLog()
            result = await self._attempts.run(
                Attempts(
                    tenant=call.tenant,
                    connector=connector,
                    operation=target.operation,
                    invoke=invoke,
                    deadline=call.deadline,
                    facts=call.facts,
                    audit=call.audit,
                    execution_id=execution_id,
                ),
                log,
            )
            return pb.ExecuteResponse(
                execution_id=execution_id, result=to_struct(dict(result)), attempts=log.attempts
            )
        action = Action(call, call.key, connector, invoke, respond, pb.ExecuteResponse)
        return await self._once.run(action)

    async def Compensate(
        self, call: AdmittedCompensation[pb.CompensateRequest], ctx: Context
    ) -> pb.CompensateResponse:
        target = call.target
        connector, adapter = self._usable(call.tenant, target.metadata.key)
        # Read again: another call may have undone it since validation looked.
        execution = await self._ledger.execution(call.tenant, call.execution.execution_id)
        execution = execution or call.execution
        if execution.status is ExecutionStatus.COMPENSATED and execution.compensation:
            call.facts.success_event = call.facts.refusal_event = REPLAY_EVENT
            return replay_outcome(execution.compensation, pb.CompensateResponse)
        if execution.status is not ExecutionStatus.SUCCEEDED:
            raise ExecutionNotSucceeded(
                f"execution {execution.execution_id!r} has status {execution.status.value}; "
                "only a succeeded execution can be undone",
                metadata={"execution_id": execution.execution_id, "status": execution.status.value},
            )
        original = execution.result

        def invoke(attempt: AttemptContext) -> Awaitable[Mapping[str, Any]]:
            return adapter.compensate(target.operation.name, original, attempt)

        def respond(_: str, result: Mapping[str, Any], attempts: int) -> pb.CompensateResponse:
            return pb.CompensateResponse(
                execution_id=execution.execution_id,
                compensating_operation=target.operation.name,
                result=to_struct(dict(result)),
                attempts=attempts,
            )

        # The key is the execution's, tenant-wide: an execution is undone at most once, and
        # once undone its own record answers every later Compensate (see the replay layer).
        action = Action(
            call,
            call.key,
            connector,
            invoke,
            respond,
            pb.CompensateResponse,
            compensates=execution.execution_id,
        )
        return await self._once.run(action)

    def _usable(self, tenant: str, key: str) -> tuple[Connector, Adapter]:
        """The connector and the adapter acting with the caller's tenant's own account."""
        connector = self._registry.require(key)
        adapter = connector.adapter_for(tenant)
        if adapter is None or not connector.registered or not adapter.configured:
            raise NotConfigured.for_tenant(key)
        return connector, adapter

    # --- reads ------------------------------------------------------------------------------

    def _selected(self, key: str) -> list[Connector]:
        connector = self._registry.get(key) if key else None
        return [connector] if connector else self._registry.all()

    async def Health(self, call: Admitted[pb.HealthRequest], ctx: Context) -> pb.HealthResponse:
        entries = []
        for connector in self._selected(call.request.connector_key):
            state = await self._health.get(call.tenant, connector.key)
            breaker = self._guards.breaker(call.tenant, connector.key)
            entries.append(health_entry(connector, call.tenant, state, breaker.state))
        return pb.HealthResponse(connectors=entries)

    async def Metrics(self, call: Admitted[pb.MetricsRequest], ctx: Context) -> pb.MetricsResponse:
        entries = []
        for connector in self._selected(call.request.connector_key):
            figures = self._metrics.connector(call.tenant, connector.key)
            breaker = self._guards.breaker(call.tenant, connector.key)
            entries.append(
                pb.ConnectorMetrics(
                    connector_key=connector.key,
                    calls=figures.calls,
                    successes=figures.successes,
                    failures_by_code=figures.failures_by_code,
                    retries=figures.retries,
                    timeouts=figures.timeouts,
                    latency_p50_ms=figures.latency_p50_ms,
                    latency_p95_ms=figures.latency_p95_ms,
                    latency_p99_ms=figures.latency_p99_ms,
                    circuit_state=circuit_state(breaker.state),
                    sandbox=connector.sandboxed_for(call.tenant),
                )
            )
        return pb.MetricsResponse(connectors=entries)

    async def ListConnectors(
        self, call: Admitted[pb.ListConnectorsRequest], ctx: Context
    ) -> pb.ListConnectorsResponse:
        return pb.ListConnectorsResponse(
            connectors=[descriptor(c, self._registry, call.tenant) for c in self._registry.all()]
        )

    async def DescribeConnector(
        self, call: Admitted[pb.DescribeConnectorRequest], ctx: Context
    ) -> pb.DescribeConnectorResponse:
        connector = self._registry.require(call.request.connector_key)
        return pb.DescribeConnectorResponse(
            connector=descriptor(connector, self._registry, call.tenant)
        )
