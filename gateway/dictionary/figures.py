"""A computed figure and the dictionary's rounding rules (its ``rounding`` convention).

Figures are ``Decimal``s, never binary floats: money is summed exactly in minor units and
shown in major units, a quotient of money by a count is rounded half to even to the
currency's minor digits, a ratio half to even to 4 decimals. A zero denominator is never
divided by: the figure is null with the metric's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from gateway.dictionary.definitions import Currency

RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Component:
    """One of the counts or sums a figure is computed from, named as the dictionary names it."""

    name: str
    value: Decimal


@dataclass(frozen=True)
class Figure:
    """A metric's value (None with a ``null_reason`` when it has none) and its components."""

    value: Decimal | None
    null_reason: str
    components: tuple[Component, ...]


def count(name: str, value: int) -> Component:
    return Component(name, Decimal(value))


def money(minor: int, currency: Currency) -> Decimal:
    """An exact amount in minor units, in major units with the currency's minor digits."""
    return Decimal(minor).scaleb(-currency.minor_digits)


def money_per(minor: int, per: int, currency: Currency) -> Decimal:
    """An amount in minor units divided by a count, in major units, rounded half to even."""
    places = Decimal(1).scaleb(-currency.minor_digits)
    return (money(minor, currency) / per).quantize(places, rounding=ROUND_HALF_EVEN)


def ratio(numerator: int, denominator: int, components: tuple[Component, ...], why: str) -> Figure:
    """numerator / denominator, half to even to 4 decimals; null with ``why`` when the
    denominator is zero."""
    if denominator == 0:
        return Figure(None, why, components)
    value = (Decimal(numerator) / Decimal(denominator)).quantize(
        RATIO_PLACES, rounding=ROUND_HALF_EVEN
    )
    return Figure(value, "", components)


def nothing_in(components: tuple[Component, ...], why: str) -> Figure:
    return Figure(None, why, components)
