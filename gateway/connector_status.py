"""A connector's status for a tenant, as every view of it states it: the Health RPC, the
board and the ``connector_health`` metric."""

from __future__ import annotations

from gateway.contract import ConnectorStatus
from gateway.registry import Connector
from gateway.reliability.breaker import CircuitState
from gateway.store.sync_states import SyncState


def connector_status(
    connector: Connector,
    tenant: str,
    state: SyncState | None,
    circuit: CircuitState = CircuitState.CLOSED,
) -> ConnectorStatus:
    """``not_configured`` without an adapter or account for the tenant; an open circuit is
    ``error`` (calls fail fast until a trial call succeeds), a half-open one ``degraded``;
    otherwise the status the calls and probes left, ``unknown`` before any."""
    if not connector.configured_for(tenant):
        return ConnectorStatus.NOT_CONFIGURED
    if circuit is CircuitState.OPEN:
        return ConnectorStatus.ERROR
    if circuit is CircuitState.HALF_OPEN:
        return ConnectorStatus.DEGRADED
    return state.status if state else ConnectorStatus.UNKNOWN
