"""The Cal.com sandbox's host: one simple schedule, and the slots it leaves free.

Every event type belongs to the same host, who works Monday to Friday, 09:00 to 17:00 UTC.
An event type lasts 30 minutes unless a booking (``lengthInMinutes``) or a slot query
(``duration``) picks one of its other lengths: 15, 45 or 60 minutes. Slots follow each other
from the start of the working day, one length apart; a slot is free when it starts in the
future and overlaps no accepted booking of the host (of any event type). A booking may start
at any minute that leaves it inside working hours and clear of the others.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator

UTC = datetime.UTC
OPENS, CLOSES = datetime.time(9, 0), datetime.time(17, 0)
WORKDAYS = frozenset(range(5))  # Monday to Friday
LENGTHS = (15, 30, 45, 60)  # minutes
DEFAULT_LENGTH = 30

Busy = tuple[datetime.datetime, datetime.datetime]  # an accepted booking's start and end


def _working_hours(day: datetime.date) -> Busy | None:
    if day.weekday() not in WORKDAYS:
        return None
    opens = datetime.datetime.combine(day, OPENS, tzinfo=UTC)
    return opens, datetime.datetime.combine(day, CLOSES, tzinfo=UTC)


def _clear(start: datetime.datetime, end: datetime.datetime, busy: Iterable[Busy]) -> bool:
    return all(end <= taken_start or taken_end <= start for taken_start, taken_end in busy)


def is_free(
    start: datetime.datetime,
    minutes: int,
    busy: Iterable[Busy],
    now: datetime.datetime,
) -> bool:
    """Whether a booking of ``minutes`` from ``start`` fits the schedule and the bookings."""
    hours = _working_hours(start.astimezone(UTC).date())
    end = start + datetime.timedelta(minutes=minutes)
    return (
        hours is not None
        and start >= now
        and hours[0] <= start
        and end <= hours[1]
        and _clear(start, end, busy)
    )


def free_slots(
    since: datetime.datetime,
    until: datetime.datetime,
    minutes: int,
    busy: Iterable[Busy],
    now: datetime.datetime,
) -> Iterator[Busy]:
    """The free slots of ``minutes`` that start from ``since`` to ``until``, in time order."""
    taken = list(busy)
    length = datetime.timedelta(minutes=minutes)
    day = since.astimezone(UTC).date()
    while day <= until.astimezone(UTC).date():
        hours = _working_hours(day)
        if hours is not None:
            start = hours[0]
            while start + length <= hours[1]:
                if (
                    since <= start <= until
                    and start >= now
                    and _clear(start, start + length, taken)
                ):
                    yield start, start + length
                start += length
        day += datetime.timedelta(days=1)
