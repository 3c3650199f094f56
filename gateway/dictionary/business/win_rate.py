"""win_rate: deals won / deals closed (won and lost) in the period."""

from __future__ import annotations

from gateway.dictionary.business.inputs import BusinessInputs, within
from gateway.dictionary.figures import Figure, count, ratio

WON, LOST = "won", "lost"


async def win_rate(inputs: BusinessInputs) -> Figure:
    q = inputs.source.query()
    sql = (
        f"SELECT COALESCE(SUM(CASE WHEN status = {q.value(WON)} THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN status = {q.value(LOST)} THEN 1 ELSE 0 END), 0) FROM deals "
        f"WHERE status IN ({q.value(WON)}, {q.value(LOST)}) AND {within(q, 'closed_at', inputs)}"
    )
    won, lost = (int(n) for n in await inputs.row(q, sql))
    components = (
        count("won_deals", won),
        count("lost_deals", lost),
        count("closed_deals", won + lost),
    )
    return ratio(won, won + lost, components, "no_closed_deals")
