"""connector_health: active connectors whose status is ok / all active connectors, now.

Active: registered, configured for the tenant and not disabled. The status is the one the
Health RPC and the board show (``gateway.connector_status``). Connectors acting at a vendor's
sandbox for the tenant are counted apart (``sandboxed_*``) and stay out of the ratio: a
sandbox's health says nothing of the vendor's.
"""

from __future__ import annotations

from gateway.connector_status import connector_status
from gateway.contract import ConnectorStatus
from gateway.dictionary.figures import Figure, count, ratio
from gateway.health_state import HealthTracker
from gateway.registry import Registry
from gateway.reliability.guards import Guards

INACTIVE = frozenset({ConnectorStatus.NOT_CONFIGURED, ConnectorStatus.DISABLED})


async def connector_health(
    registry: Registry, health: HealthTracker, guards: Guards, tenant: str
) -> Figure:
    """The tenant's connector health as the dictionary defines it."""
    ok = active = sandboxed_ok = sandboxed_active = 0
    for connector in registry.all():
        state = await health.get(tenant, connector.key)
        circuit = guards.breaker(tenant, connector.key).state
        status = connector_status(connector, tenant, state, circuit)
        if status in INACTIVE:
            continue
        healthy = int(status is ConnectorStatus.OK)
        if connector.sandboxed_for(tenant):
            sandboxed_active += 1
            sandboxed_ok += healthy
        else:
            active += 1
            ok += healthy
    components = (
        count("ok", ok),
        count("active", active),
        count("sandboxed_ok", sandboxed_ok),
        count("sandboxed_active", sandboxed_active),
    )
    return ratio(ok, active, components, "no_active_connectors")
