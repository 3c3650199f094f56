"""Each connector in the standard ``grpc.health.v1.Health`` service, as ``connector.<key>``.

The entry follows tenant ``default``'s status on the board: ``ok`` and ``degraded`` are
SERVING, ``error``, ``disabled`` and ``not_configured`` NOT_SERVING, ``unknown`` UNKNOWN.
These entries are for dashboards and for clients that want to know before they call; the
gateway's own entry (``""``, and the service name) never depends on them, so a vendor's
outage never takes the sidecar out of its pod's service.
"""

from __future__ import annotations

from collections.abc import Iterable

from grpc_health.v1 import health_pb2

from gateway.board import Board
from gateway.contract import ConnectorStatus
from gateway.health_service import NOT_SERVING, SERVING, HealthService, Status

TENANT = "default"
PREFIX = "connector."
UNKNOWN = health_pb2.HealthCheckResponse.UNKNOWN

SERVING_STATUS: dict[ConnectorStatus, Status] = {
    ConnectorStatus.OK: SERVING,
    ConnectorStatus.DEGRADED: SERVING,
    ConnectorStatus.ERROR: NOT_SERVING,
    ConnectorStatus.DISABLED: NOT_SERVING,
    ConnectorStatus.NOT_CONFIGURED: NOT_SERVING,
    ConnectorStatus.UNKNOWN: UNKNOWN,
}


def service_name(connector_key: str) -> str:
    return PREFIX + connector_key


class ConnectorServing:
    """Keeps the health service's ``connector.<key>`` entries in step with the board."""

    def __init__(self, health: HealthService, board: Board) -> None:
        self._health = health
        self._board = board

    async def start(self, keys: Iterable[str]) -> None:
        """Sets every connector's entry from its status now."""
        for key in keys:
            await self.changed(TENANT, key, await self._board.status(TENANT, key))

    async def changed(self, tenant: str, key: str, status: ConnectorStatus) -> None:
        """A ``HealthTracker`` listener."""
        if tenant == TENANT:
            await self._health.set(service_name(key), SERVING_STATUS[status])
