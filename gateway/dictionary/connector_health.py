"""connector_health: active connectors whose status is ok / all active connectors, now.

Active: registered, configured for the tenant and not disabled. The status is the one the
Health RPC and the board show (``gateway.board.Board.status``). Connectors acting at a vendor's
sandbox for the tenant are counted apart (``sandboxed_*``) and stay out of the ratio: a
sandbox's health says nothing of the vendor's.
"""

from __future__ import annotations

from gateway.board import Board
from gateway.contract import ConnectorStatus
from gateway.dictionary.figures import Figure, count, ratio
from gateway.registry import Registry

INACTIVE = frozenset({ConnectorStatus.NOT_CONFIGURED, ConnectorStatus.DISABLED})


async def connector_health(registry: Registry, board: Board, tenant: str) -> Figure:
    """The tenant's connector health as the dictionary defines it."""
    ok = active = sandboxed_ok = sandboxed_active = 0
    for connector in registry.all():
        status = await board.status(tenant, connector.key)
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
