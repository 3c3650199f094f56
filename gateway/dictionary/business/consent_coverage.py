"""consent_coverage: leads with an active consent / all leads, as of the period's end.

As of ``end``: every event before ``end`` has happened, none at or after it. A lead counts
once recorded before ``end``; a consent is active when granted before ``end`` and neither
revoked nor lapsed before it.
"""

from __future__ import annotations

from gateway.dictionary.business.inputs import BusinessInputs
from gateway.dictionary.figures import Figure, count, ratio


async def consent_coverage(inputs: BusinessInputs) -> Figure:
    q = inputs.source.query()
    end = inputs.end
    active = (
        f"SELECT 1 FROM consents c WHERE c.lead_id = l.lead_id "
        f"AND {q.at('c.granted_at')} < {q.instant(end)} "
        f"AND (c.revoked_at IS NULL OR {q.at('c.revoked_at')} >= {q.instant(end)}) "
        f"AND (c.expires_at IS NULL OR {q.at('c.expires_at')} >= {q.instant(end)})"
    )
    sql = (
        f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS ({active}) THEN 1 ELSE 0 END), 0) "
        f"FROM leads l WHERE {q.at('l.created_at')} < {q.instant(end)}"
    )
    leads, covered = (int(n) for n in await inputs.row(q, sql))
    components = (count("leads_with_active_consent", covered), count("leads", leads))
    return ratio(covered, leads, components, "no_leads")
