"""Finding the booking an earlier create_booking made, by the marker in its metadata.

Cal.com takes no idempotency key, but keeps a booking's metadata and lists bookings by
attendee email, event type and start. Every booking of that attendee and event type from the
booked start on is read, page by page, and the one carrying the marker is the answer. "Not
found" is said only after the last page: the gateway then sends the booking again, so a
lookup that gives up early stays unknown instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.errors import OutcomeUnknown

from . import results, wire
from .operations import CreateBooking

MAX_PAGES = 10  # 1,000 bookings of one attendee and event type

Send = Callable[[wire.VendorCall, float], Awaitable[Any]]  # (call, timeout_s) -> JSON body


async def find_booking(
    send: Send, payload: CreateBooking, marker: str, timeout_s: float
) -> results.Booking | None:
    """The booking carrying ``marker``; None once every candidate was read without it."""
    if not marker:
        raise OutcomeUnknown("cal: the earlier request carried no marker to look it up by")
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + timeout_s
    for page in range(MAX_PAGES):
        call = wire.find_bookings(payload, skip=page * wire.LOOKUP_PAGE_SIZE)
        body = await send(call, give_up_at - loop.time())
        where = f"{call.method} {call.path}"
        bookings, more = results.booking_page(body, where, wire.LOOKUP_PAGE_SIZE)
        for booking in bookings:
            if booking.marker == marker:
                return booking
        if not more:
            return None
    raise OutcomeUnknown(
        f"cal: more than {MAX_PAGES * wire.LOOKUP_PAGE_SIZE} bookings of this attendee and "
        "event type; the lookup stopped before finding the booking or ruling it out"
    )
