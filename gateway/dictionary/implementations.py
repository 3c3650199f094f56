"""Every metric of the dictionary and the one function that computes it.

The business metrics take the tenant's database (``BusinessInputs``); the gateway's own take
its state (``GatewayState``). A test holds this table and the dictionary file to the same
names, both ways.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.approvals.store import ApprovalStore
from gateway.dictionary.approval_sla_compliance import approval_sla_compliance
from gateway.dictionary.business.cac import cac
from gateway.dictionary.business.consent_coverage import consent_coverage
from gateway.dictionary.business.inputs import BusinessInputs
from gateway.dictionary.business.pipeline_value import pipeline_value
from gateway.dictionary.business.revenue_actual import revenue_actual
from gateway.dictionary.business.win_rate import win_rate
from gateway.dictionary.connector_health import connector_health
from gateway.dictionary.figures import Figure
from gateway.dictionary.period import Period
from gateway.health_state import HealthTracker
from gateway.registry import Registry
from gateway.reliability.guards import Guards


@dataclass(frozen=True)
class GatewayState:
    """What the gateway's own metrics read: connectors, their health and circuits, and the
    approval requests."""

    registry: Registry
    health: HealthTracker
    guards: Guards
    approvals: ApprovalStore


BusinessMetric = Callable[[BusinessInputs], Awaitable[Figure]]
GatewayMetric = Callable[[GatewayState, str, Period, datetime], Awaitable[Figure]]


async def _connector_health(state: GatewayState, tenant: str, _: Period, __: datetime) -> Figure:
    return await connector_health(state.registry, state.health, state.guards, tenant)


async def _approval_sla(state: GatewayState, tenant: str, period: Period, now: datetime) -> Figure:
    if period.start is None or period.end is None:
        raise ValueError("approval_sla_compliance counts within a period")
    return await approval_sla_compliance(state.approvals, tenant, period.start, period.end, now)


BUSINESS: dict[str, BusinessMetric] = {
    "revenue_actual": revenue_actual,
    "pipeline_value": pipeline_value,
    "win_rate": win_rate,
    "cac": cac,
    "consent_coverage": consent_coverage,
}
GATEWAY: dict[str, GatewayMetric] = {
    "approval_sla_compliance": _approval_sla,
    "connector_health": _connector_health,
}
IMPLEMENTED = frozenset(BUSINESS) | frozenset(GATEWAY)
