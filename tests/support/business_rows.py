"""One small business, in the dictionary's table shapes, whose figures for March 2026 are
worked out by hand in the comments. Boundaries are on purpose: rows exactly at a period's
start (counted) and end (not counted), times with offsets, a status in the wrong case, a
lead with two active consents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
MAY = (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
EMPTY = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))


def _deal(
    deal_id: str, status: str, amount: int, closed_at: str | None, currency: str = "SAR"
) -> dict[str, Any]:
    return {
        "deal_id": deal_id,
        "status": status,
        "amount_minor": amount,
        "currency": currency,
        "closed_at": closed_at,
    }


DEALS = [
    _deal("d1", "won", 150000, "2026-03-01T00:00:00Z"),  # at the start: counted
    _deal("d2", "won", 250050, "2026-03-31T23:59:59.999Z"),  # the last millisecond: counted
    _deal("d3", "won", 999900, "2026-04-01T00:00:00Z"),  # at the end: April's
    _deal("d4", "won", 12345, "2026-02-28T23:59:59Z"),  # February's
    _deal("d5", "lost", 50000, "2026-03-10T12:00:00+03:00"),  # 09:00Z: counted
    _deal("d6", "lost", 70000, "2026-03-15T00:00:00Z"),
    _deal("d7", "open", 100000, None),
    _deal("d8", "negotiating", 33333, None),
    _deal("d9", "Won", 777, "2026-03-05T00:00:00Z"),  # not a status of the dictionary
    _deal("d10", "won", 10000, "2026-04-01T02:00:00+03:00"),  # 2026-03-31T23:00Z: counted
    _deal("d11", "won", 5000, "2026-05-10T00:00:00Z", currency="USD"),  # May, in USD
]
# March: won d1 + d2 + d10 = 150000 + 250050 + 10000 = 410050 halalas -> 4100.50 SAR
#        lost d5, d6 -> win rate 3 / 5 = 0.6000
# Now: open d7 + d8 = 133333 halalas -> 1333.33 SAR (2 open deals)
# May: one deal won, in USD -> revenue null (mixed_currencies), win rate 1 / 1

LEADS = [
    {"lead_id": "l1", "created_at": "2026-01-01T00:00:00Z"},
    {"lead_id": "l2", "created_at": "2026-02-01T00:00:00Z"},
    {"lead_id": "l3", "created_at": "2026-02-15T00:00:00Z"},
    {"lead_id": "l4", "created_at": "2026-03-31T23:59:59Z"},
    {"lead_id": "l5", "created_at": "2026-04-01T00:00:00Z"},  # at the end: not yet a lead
    {"lead_id": "l6", "created_at": "2026-03-01T00:00:00Z"},
    {"lead_id": "l7", "created_at": "2026-03-01T00:00:00Z"},
    {"lead_id": "l8", "created_at": "2026-03-05T00:00:00Z"},
]


def _consent(consent_id: str, lead_id: str, granted: str, **ends: str) -> dict[str, Any]:
    return {
        "consent_id": consent_id,
        "lead_id": lead_id,
        "granted_at": granted,
        "revoked_at": ends.get("revoked"),
        "expires_at": ends.get("expires"),
    }


CONSENTS = [
    _consent("c1", "l1", "2026-01-02T00:00:00Z"),  # active
    _consent("c8", "l1", "2026-01-05T00:00:00Z"),  # active too: l1 counts once
    _consent("c2", "l2", "2026-02-02T00:00:00Z", revoked="2026-03-15T00:00:00Z"),
    _consent("c3", "l2", "2026-03-20T00:00:00Z", expires="2026-04-01T00:00:00Z"),  # active
    _consent("c4", "l3", "2026-02-16T00:00:00Z", expires="2026-03-31T00:00:00Z"),  # lapsed
    _consent("c5", "l5", "2026-04-01T00:00:00Z"),
    _consent("c6", "l6", "2026-04-01T00:00:00Z"),  # granted at the end: not yet
    _consent("c7", "l7", "2026-03-02T00:00:00Z", revoked="2026-04-01T00:00:00Z"),  # active
]
# As of 2026-04-01T00:00Z: leads l1, l2, l3, l4, l6, l7, l8 = 7; active l1, l2, l7 = 3
#   -> 3 / 7 = 0.428571... -> 0.4286


def _money(id_column: str, row_id: str, amount: int, dated_by: str, at: str) -> dict[str, Any]:
    return {id_column: row_id, "amount_minor": amount, "currency": "SAR", dated_by: at}


COMMISSIONS = [
    _money("commission_id", "m1", 30000, "earned_at", "2026-03-05T00:00:00Z"),
    _money("commission_id", "m2", 20049, "earned_at", "2026-03-31T23:59:59Z"),
    _money("commission_id", "m3", 99999, "earned_at", "2026-04-01T00:00:00Z"),
]
MARKETING_SPEND = [
    _money("spend_id", "s1", 100000, "spent_at", "2026-03-01T00:00:00Z"),
    _money("spend_id", "s2", 50001, "spent_at", "2026-03-20T10:00:00+02:00"),
    _money("spend_id", "s3", 70000, "spent_at", "2026-02-28T00:00:00Z"),
]
CUSTOMERS = [
    {"customer_id": "cu1", "acquired_at": "2026-03-02T00:00:00Z"},
    {"customer_id": "cu2", "acquired_at": "2026-03-10T00:00:00Z"},
    {"customer_id": "cu3", "acquired_at": "2026-03-15T00:00:00Z"},
    {"customer_id": "cu4", "acquired_at": "2026-03-30T00:00:00Z"},
    {"customer_id": "cu5", "acquired_at": "2026-04-01T00:00:00Z"},
    {"customer_id": "cu6", "acquired_at": "2026-02-01T00:00:00Z"},
]
# March: commissions m1 + m2 = 50049 (500.49), spend s1 + s2 = 150001 (1500.01),
#   cost 200050 (2000.50) / 4 customers (cu1..cu4) = 500.125 -> half to even: 500.12

ROWS = {
    "deals": DEALS,
    "leads": LEADS,
    "consents": CONSENTS,
    "commissions": COMMISSIONS,
    "marketing_spend": MARKETING_SPEND,
    "customers": CUSTOMERS,
}
