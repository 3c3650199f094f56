"""The governance board: each connector's status and entry for a tenant, from one source.

``Board.status`` is the one place a connector's status is read. ``ConnectorService.Health``,
the board's JSON over HTTP, the standard health service's ``connector.<key>`` entries and any
other view of connector status (a metric) go through it, so they never disagree. To hear of
changes as they happen, add a listener to ``HealthTracker.listeners``.
"""

from __future__ import annotations

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.contract import ConnectorStatus
from gateway.descriptors import health_entry
from gateway.health_state import HealthTracker
from gateway.registry import Connector, Registry
from gateway.reliability.breaker import CircuitState
from gateway.reliability.guards import Guards
from gateway.switches import ConnectorSwitches


class GatewaySurroundings:
    """What a status depends on besides observations: whether the connector can act for
    the tenant, whether an operator disabled it, and its circuit breaker."""

    def __init__(self, registry: Registry, guards: Guards, switches: ConnectorSwitches) -> None:
        self._registry = registry
        self._guards = guards
        self._switches = switches

    def configured(self, tenant: str, key: str) -> bool:
        connector = self._registry.get(key)
        return connector is not None and connector.configured_for(tenant)

    def disabled(self, tenant: str, key: str) -> bool:
        return self._switches.disabled(tenant, key) is not None

    def circuit(self, tenant: str, key: str) -> CircuitState:
        return self._guards.breaker(tenant, key).state


class Board:
    def __init__(
        self,
        registry: Registry,
        tracker: HealthTracker,
        guards: Guards,
        switches: ConnectorSwitches,
    ) -> None:
        self._registry = registry
        self._tracker = tracker
        self._guards = guards
        self._switches = switches

    async def status(self, tenant: str, key: str) -> ConnectorStatus:
        """The connector's status for the tenant, now."""
        return (await self._tracker.get(tenant, key)).status

    async def entry(self, tenant: str, connector: Connector) -> pb.ConnectorHealth:
        snapshot = await self._tracker.snapshot(tenant, connector.key)
        return health_entry(
            connector,
            tenant,
            snapshot,
            self._guards.breaker(tenant, connector.key).state,
            self._switches.disabled(tenant, connector.key),
        )

    async def entries(self, tenant: str, key: str = "") -> list[pb.ConnectorHealth]:
        """Every connector's entry, ordered by key; only ``key``'s when given."""
        connector = self._registry.get(key) if key else None
        selected = [connector] if connector else self._registry.all()
        return [await self.entry(tenant, c) for c in selected]
