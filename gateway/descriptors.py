"""Connector contracts and health as the API's messages."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.contract import ConnectorStatus, DataClassification, Idempotency, PolicyClass
from gateway.health_state import HealthSnapshot
from gateway.registry import Connector, Registry
from gateway.reliability.breaker import CircuitState
from gateway.store.disablements import Disablement

_POLICY = {
    PolicyClass.A: pb.POLICY_CLASS_A,
    PolicyClass.B: pb.POLICY_CLASS_B,
    PolicyClass.C: pb.POLICY_CLASS_C,
}
_IDEMPOTENCY = {
    Idempotency.NATIVE: pb.IDEMPOTENCY_NATIVE,
    Idempotency.GATEWAY: pb.IDEMPOTENCY_GATEWAY,
    Idempotency.NONE: pb.IDEMPOTENCY_NONE,
}
_CLASSIFICATION = {
    DataClassification.PUBLIC: pb.DATA_CLASSIFICATION_PUBLIC,
    DataClassification.INTERNAL: pb.DATA_CLASSIFICATION_INTERNAL,
    DataClassification.CONFIDENTIAL: pb.DATA_CLASSIFICATION_CONFIDENTIAL,
    DataClassification.RESTRICTED: pb.DATA_CLASSIFICATION_RESTRICTED,
}
STATUS = {
    ConnectorStatus.OK: pb.CONNECTOR_STATUS_OK,
    ConnectorStatus.DEGRADED: pb.CONNECTOR_STATUS_DEGRADED,
    ConnectorStatus.ERROR: pb.CONNECTOR_STATUS_ERROR,
    ConnectorStatus.UNKNOWN: pb.CONNECTOR_STATUS_UNKNOWN,
    ConnectorStatus.NOT_CONFIGURED: pb.CONNECTOR_STATUS_NOT_CONFIGURED,
    ConnectorStatus.DISABLED: pb.CONNECTOR_STATUS_DISABLED,
}


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    """``value`` as a Struct (``Struct.update``: a third of ``json_format.ParseDict``'s cost,
    the same message, and a ValueError naming no path for a value JSON cannot hold)."""
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def descriptor(connector: Connector, registry: Registry, tenant: str) -> pb.ConnectorDescriptor:
    meta = connector.metadata
    return pb.ConnectorDescriptor(
        key=meta.key,
        display_name=meta.display_name,
        display_name_ar=meta.display_name_ar,
        version=meta.version,
        contract_url=meta.contract_url,
        retry_policy=pb.RetryPolicy(
            max_retries=meta.retry_policy.max_retries, backoff_ms=meta.retry_policy.backoff_ms
        ),
        timeout_ms=meta.timeout_ms,
        idempotency=_IDEMPOTENCY[meta.idempotency],
        data_classification=_CLASSIFICATION[meta.data_classification],
        audit_event_types=meta.audit_event_types,
        operations=[
            pb.OperationDescriptor(
                name=op.name,
                description=op.description,
                policy_class=_POLICY[registry.policy_class(meta.key, op)],
                idempotency=_IDEMPOTENCY[op.idempotency],
                read_only=op.read_only,
                payload_schema=to_struct(op.payload_model.model_json_schema()),
                compensation=op.compensation or "",
                success_event=op.success_event,
                failure_event=op.failure_event,
                result_schema=to_struct(op.result_model.model_json_schema())
                if op.result_model
                else None,
            )
            for op in sorted(meta.operations, key=lambda o: o.name)
        ],
        registered=connector.registered,
        configured=connector.configured_for(tenant),
        rate_limit_per_second=meta.rate_limit.per_second,
        rate_limit_burst=meta.rate_limit.burst,
        sandbox=connector.sandboxed_for(tenant),
    )


_CIRCUIT = {
    CircuitState.CLOSED: pb.CIRCUIT_STATE_CLOSED,
    CircuitState.OPEN: pb.CIRCUIT_STATE_OPEN,
    CircuitState.HALF_OPEN: pb.CIRCUIT_STATE_HALF_OPEN,
}


def circuit_state(state: CircuitState) -> pb.CircuitState:
    return _CIRCUIT[state]


def health_entry(
    connector: Connector,
    tenant: str,
    snapshot: HealthSnapshot,
    circuit: CircuitState,
    disablement: Disablement | None,
) -> pb.ConnectorHealth:
    """The connector's row on the board; its status is the snapshot's (``health_rules``)."""
    meta, state, recent = connector.metadata, snapshot.state, snapshot.recent
    entry = pb.ConnectorHealth(
        connector_key=meta.key,
        display_name=meta.display_name,
        display_name_ar=meta.display_name_ar,
        status=STATUS[state.status],
        last_error=state.last_error,
        registered=connector.registered,
        circuit_state=_CIRCUIT[circuit],
        sandbox=connector.sandboxed_for(tenant),
        recent_calls=recent.calls,
        recent_error_rate=recent.failure_ratio,
        latency_p95_ms=recent.latency_p95_ms,
    )
    if state.last_success_at:
        entry.last_success_at.CopyFrom(_timestamp(state.last_success_at))
    if state.last_attempt_at:
        entry.last_attempt_at.CopyFrom(_timestamp(state.last_attempt_at))
    if disablement is not None:
        entry.disabled_reason = disablement.reason
        entry.disabled_by = disablement.disabled_by
        entry.disabled_at.CopyFrom(_timestamp(disablement.disabled_at))
    return entry


def _timestamp(moment: Any) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(moment)
    return ts
