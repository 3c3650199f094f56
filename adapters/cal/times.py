"""Times and time zones as Cal.com takes them.

Payloads give instants in ISO 8601 with their offset (``Z`` or ``+03:00``); a time without
one is refused, since it would mean a different moment in each time zone. Cal.com wants UTC
on the wire, so each instant is sent as its UTC equivalent. Time zones are IANA names that
the time zone database (``zoneinfo``, backed by the ``tzdata`` package) knows.
"""

from __future__ import annotations

import datetime
import functools
import zoneinfo
from typing import Annotated

from pydantic import AfterValidator, Field

_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_INSTANT = _DAY + r"T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,3})?(Z|[+-][0-9]{2}:[0-9]{2})"


def parse_instant(value: str) -> datetime.datetime:
    """An aware datetime; ``value`` is a validated ``Instant``."""
    return datetime.datetime.fromisoformat(value)


def format_utc(moment: datetime.datetime) -> str:
    """An aware datetime in UTC as Cal.com writes it: ``2025-09-05T09:00:00Z`` (milliseconds
    kept when there are any)."""
    utc = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds" if utc.microsecond else "seconds") + "Z"


def utc_text(value: str) -> str:
    """A validated ``Instant`` in UTC."""
    return format_utc(parse_instant(value))


def _instant(value: str) -> str:
    moment = parse_instant(value)  # refuses impossible dates and offsets (2025-02-30, +25:00)
    try:
        year = moment.astimezone(datetime.UTC).year
    except OverflowError:
        year = datetime.MINYEAR
    # A year away from the calendar's ends, so that UTC and a lookup's margin stay within it.
    if not datetime.MINYEAR < year < datetime.MAXYEAR:
        raise ValueError("is too far in the past or the future")
    return value


def _day_or_instant(value: str) -> str:
    if "T" in value:
        return _instant(value)
    datetime.date.fromisoformat(value)
    return value


def range_bound(value: str, *, end_of_day: bool) -> datetime.datetime:
    """A validated day or instant as an aware datetime; a day (UTC) means its start or end."""
    if "T" in value:
        return parse_instant(value)
    day = datetime.date.fromisoformat(value)
    moment = datetime.time.max if end_of_day else datetime.time.min
    return datetime.datetime.combine(day, moment, tzinfo=datetime.UTC)


def send_day_or_instant(value: str) -> str:
    """A day as it is; an instant in UTC."""
    return utc_text(value) if "T" in value else value


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _known_zone(value: str) -> str:
    if value not in _known_zones():
        raise ValueError(f"{value!r} is not a time zone of the IANA time zone database")
    return value


Instant = Annotated[
    str,
    Field(pattern=f"^{_INSTANT}$", examples=["2025-09-05T09:00:00Z", "2025-09-05T12:00:00+03:00"]),
    AfterValidator(_instant),
]

DayOrInstant = Annotated[
    str,
    Field(
        pattern=f"^{_DAY}$|^{_INSTANT}$",
        examples=["2025-09-05", "2025-09-05T09:00:00Z", "2025-09-05T12:00:00+03:00"],
    ),
    AfterValidator(_day_or_instant),
]

# An IANA time zone name: Region/City (up to two more parts), or UTC.
TimeZone = Annotated[
    str,
    Field(
        pattern=r"^(UTC|[A-Za-z]+(/[A-Za-z0-9_+-]+){1,2})$",
        max_length=64,
        examples=["Asia/Riyadh", "Europe/Rome"],
    ),
    AfterValidator(_known_zone),
]
