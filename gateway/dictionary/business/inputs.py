"""What a business metric is computed from, and the SQL its modules share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.dictionary.definitions import Currency
from gateway.dictionary.figures import Figure, count, money
from gateway.dictionary.period import Period
from gateway.dictionary.sources import Query, Source

OTHER_CURRENCY_ROWS = "other_currency_rows"
MIXED_CURRENCIES = "mixed_currencies"


@dataclass(frozen=True)
class BusinessInputs:
    """The tenant's database, the period as the metric's kind applies it, the reporting
    currency, and how long the database may take."""

    source: Source
    period: Period
    currency: Currency
    timeout_s: float

    @property
    def start(self) -> datetime:
        if self.period.start is None:
            raise ValueError(f"a period of kind {self.period.kind} has no start")
        return self.period.start

    @property
    def end(self) -> datetime:
        if self.period.end is None:
            raise ValueError(f"a period of kind {self.period.kind} has no end")
        return self.period.end

    async def row(self, query: Query, sql: str) -> Sequence[Any]:
        return await self.source.row(query, sql, self.timeout_s)


def within(q: Query, column: str, inputs: BusinessInputs) -> str:
    """``column`` in [start, end)."""
    return (
        f"{q.at(column)} >= {q.instant(inputs.start)} AND {q.at(column)} < {q.instant(inputs.end)}"
    )


def money_sums(q: Query, currency: Currency) -> str:
    """The amount in the reporting currency (minor units), and the rows in any other."""
    return (
        f"COALESCE(SUM(CASE WHEN currency = {q.value(currency.code)} THEN amount_minor "
        "ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN currency = {q.value(currency.code)} THEN 0 ELSE 1 END), 0)"
    )


def money_total(rows_name: str, rows: int, minor: int, other: int, currency: Currency) -> Figure:
    """A sum of money over ``rows`` rows, null when any is in another currency."""
    components = (count(rows_name, rows), count(OTHER_CURRENCY_ROWS, other))
    if other:
        return Figure(None, MIXED_CURRENCIES, components)
    return Figure(money(minor, currency), "", components)
