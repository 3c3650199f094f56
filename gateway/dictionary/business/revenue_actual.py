"""revenue_actual: the sum of the values of deals won in the period."""

from __future__ import annotations

from gateway.dictionary.business.inputs import BusinessInputs, money_sums, money_total, within
from gateway.dictionary.figures import Figure

WON = "won"


async def revenue_actual(inputs: BusinessInputs) -> Figure:
    q = inputs.source.query()
    sql = (
        f"SELECT COUNT(*), {money_sums(q, inputs.currency)} FROM deals "
        f"WHERE status = {q.value(WON)} AND {within(q, 'closed_at', inputs)}"
    )
    won, minor, other = await inputs.row(q, sql)
    return money_total("won_deals", int(won), int(minor), int(other), inputs.currency)
