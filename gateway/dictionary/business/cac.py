"""cac: (commissions earned + marketing spend) / customers acquired, in the period."""

from __future__ import annotations

from gateway.dictionary.business.inputs import (
    MIXED_CURRENCIES,
    OTHER_CURRENCY_ROWS,
    BusinessInputs,
    money_sums,
    within,
)
from gateway.dictionary.figures import Component, Figure, count, money, money_per

# Each table of acquisition cost, with the column that dates its rows.
COSTS = (("commissions", "earned_at"), ("marketing_spend", "spent_at"))


async def _cost(inputs: BusinessInputs, table: str, dated_by: str) -> tuple[int, int]:
    """The table's amount in the period (minor units) and its rows in other currencies."""
    q = inputs.source.query()
    sums = money_sums(q, inputs.currency)
    sql = f"SELECT {sums} FROM {table} WHERE {within(q, dated_by, inputs)}"
    minor, other = await inputs.row(q, sql)
    return int(minor), int(other)


async def _new_customers(inputs: BusinessInputs) -> int:
    q = inputs.source.query()
    sql = f"SELECT COUNT(*) FROM customers WHERE {within(q, 'acquired_at', inputs)}"
    (customers,) = await inputs.row(q, sql)
    return int(customers)


async def cac(inputs: BusinessInputs) -> Figure:
    commissions, commissions_other = await _cost(inputs, *COSTS[0])
    spend, spend_other = await _cost(inputs, *COSTS[1])
    customers = await _new_customers(inputs)
    cost, other = commissions + spend, commissions_other + spend_other
    currency = inputs.currency
    components = (
        Component("commissions", money(commissions, currency)),
        Component("marketing_spend", money(spend, currency)),
        Component("acquisition_cost", money(cost, currency)),
        count("new_customers", customers),
        count(OTHER_CURRENCY_ROWS, other),
    )
    if other:
        return Figure(None, MIXED_CURRENCIES, components)
    if customers == 0:
        return Figure(None, "no_new_customers", components)
    return Figure(money_per(cost, customers, currency), "", components)
