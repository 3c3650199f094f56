"""approval_sla_compliance: the approval SLA figure the approvals store computes.

The same two counts as ``ApprovalStore.sla_compliance`` (``gateway.approvals.sla`` is their
reference): requests a person answered before their breach time / all requests that fell due
in the period by now.
"""

from __future__ import annotations

from datetime import datetime

from gateway.approvals.store import ApprovalStore
from gateway.dictionary.figures import Figure, count, ratio


async def approval_sla_compliance(
    approvals: ApprovalStore, tenant: str, start: datetime, end: datetime, now: datetime
) -> Figure:
    met, due = await approvals.sla_counts(tenant, period_start=start, period_end=end, now=now)
    components = (count("answered_in_time", met), count("due", due))
    return ratio(met, due, components, "nothing_due")
