"""pipeline_value: the sum of the values of the deals open now (open or negotiating)."""

from __future__ import annotations

from gateway.dictionary.business.inputs import BusinessInputs, money_sums, money_total
from gateway.dictionary.figures import Figure

OPEN_STATUSES = ("open", "negotiating")


async def pipeline_value(inputs: BusinessInputs) -> Figure:
    q = inputs.source.query()
    statuses = ", ".join(q.value(status) for status in OPEN_STATUSES)
    sql = (
        f"SELECT COUNT(*), {money_sums(q, inputs.currency)} FROM deals WHERE status IN ({statuses})"
    )
    deals, minor, other = await inputs.row(q, sql)
    return money_total("open_deals", int(deals), int(minor), int(other), inputs.currency)
