"""Periods: what a request asks for, checked, and how a metric's period kind applies it.

A period is half-open, [start, end). A metric of kind ``within`` needs both bounds, one of
kind ``as_of_end`` needs the end (a start, if sent, must still come before it), and one of
kind ``current`` uses neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from gateway.dictionary.definitions import PeriodKind
from gateway.errors import FieldViolation, InvalidField, MissingField
from gateway.field_rules import excerpt


@dataclass(frozen=True)
class FieldNames:
    """What the bounds are called where they came from (gRPC fields, HTTP query)."""

    start: str
    end: str


GRPC_FIELDS = FieldNames("period_start", "period_end")
HTTP_FIELDS = FieldNames("from", "to")


@dataclass(frozen=True)
class Period:
    """The bounds a figure was computed for: both for ``within``, the end for ``as_of_end``,
    none for ``current``."""

    kind: PeriodKind
    start: datetime | None = None
    end: datetime | None = None


def _invalid(field: str, rule: str, message: str) -> InvalidField:
    return InvalidField(message, violations=(FieldViolation(field, rule),))


def check_period(
    kind: PeriodKind, start: datetime | None, end: datetime | None, names: FieldNames
) -> Period:
    """The period a metric of ``kind`` is computed for; MISSING_FIELD for a bound it needs,
    INVALID_FIELD when the start is not before the end."""
    if start is not None and end is not None and start >= end:
        raise _invalid(
            names.end,
            f"must be later than {names.start}",
            f"{names.end} must be later than {names.start}: a period is [{names.start}, "
            f"{names.end}) (got {start.isoformat()} to {end.isoformat()})",
        )
    needed = {
        PeriodKind.WITHIN: (names.start, names.end),
        PeriodKind.AS_OF_END: (names.end,),
        PeriodKind.CURRENT: (),
    }[kind]
    given = {names.start: start, names.end: end}
    for field in needed:
        if given[field] is None:
            what = (
                "an instant with a time zone; the metric is the state at that moment"
                if kind is PeriodKind.AS_OF_END
                else f"an instant with a time zone; the metric counts [{names.start}, {names.end})"
            )
            raise MissingField(
                f"{field} is required for a metric of period kind {kind.value}",
                violations=(FieldViolation(field, what),),
            )
    if kind is PeriodKind.WITHIN:
        return Period(kind, start, end)
    if kind is PeriodKind.AS_OF_END:
        return Period(kind, None, end)
    return Period(kind)


MAX_INSTANT_CHARS = 40


def parse_instant(field: str, text: str) -> datetime:
    """An ISO 8601 instant with ``Z`` or an offset, or a date (midnight UTC); INVALID_FIELD
    naming ``field`` otherwise."""
    rule = "an ISO 8601 time with Z or an offset (2026-03-01T00:00:00Z), or a date (UTC)"
    if len(text) <= MAX_INSTANT_CHARS:
        try:
            if len(text) == len("2026-03-01"):
                return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
            rule = "a time zone: end the time with Z or an offset such as +03:00"
    raise _invalid(field, rule, f"{field} must be {rule} (got {excerpt(text)})")
