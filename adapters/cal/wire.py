"""What each operation sends to Cal.com: method, path, query, body and endpoint family.

Each endpoint family (bookings, slots) takes its own ``cal-api-version``; the account pins
them. Instants go out in UTC, as Cal.com wants them.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .operations import (
    MARKER_KEY,
    CancelBooking,
    CreateBooking,
    GetBooking,
    GetSlots,
    RescheduleBooking,
)
from .times import format_utc, parse_instant, send_day_or_instant, utc_text

LOOKUP_PAGE_SIZE = 100  # Cal.com's largest page of bookings
# How far before the booked start a lookup begins, so that it finds the booking whether
# Cal.com reads afterStart as inclusive or not.
LOOKUP_MARGIN = datetime.timedelta(minutes=1)


class Family(enum.StrEnum):
    """An endpoint family, each with its own ``cal-api-version``."""

    BOOKINGS = "bookings"
    SLOTS = "slots"


@dataclass(frozen=True)
class VendorCall:
    method: str
    path: str
    family: Family | None  # None: an endpoint that takes no version header
    params: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None


ME = VendorCall("GET", "/v2/me", None)


def get_slots(payload: GetSlots) -> VendorCall:
    params = {
        "eventTypeId": str(payload.eventTypeId),
        "start": send_day_or_instant(payload.start),
        "end": send_day_or_instant(payload.end),
        "format": "range",  # each slot with its end as well as its start
    }
    if payload.timeZone is not None:
        params["timeZone"] = payload.timeZone
    if payload.duration is not None:
        params["duration"] = str(payload.duration)
    return VendorCall("GET", "/v2/slots", Family.SLOTS, params=params)


def create_booking(payload: CreateBooking, marker: str) -> VendorCall:
    attendee = payload.attendee.model_dump(exclude_none=True)
    body: dict[str, Any] = {
        "eventTypeId": payload.eventTypeId,
        "start": utc_text(payload.start),
        "attendee": attendee,
    }
    if payload.lengthInMinutes is not None:
        body["lengthInMinutes"] = payload.lengthInMinutes
    if payload.guests:
        body["guests"] = list(payload.guests)
    if payload.bookingFieldsResponses:
        body["bookingFieldsResponses"] = dict(payload.bookingFieldsResponses)
    metadata = dict(payload.metadata or {})
    if marker:
        metadata[MARKER_KEY] = marker
    if metadata:
        body["metadata"] = metadata
    return VendorCall("POST", "/v2/bookings", Family.BOOKINGS, body=body)


def cancel_booking(uid: str, reason: str | None) -> VendorCall:
    body = {"cancellationReason": reason} if reason is not None else {}
    return VendorCall("POST", f"/v2/bookings/{uid}/cancel", Family.BOOKINGS, body=body)


def cancel(payload: CancelBooking) -> VendorCall:
    return cancel_booking(payload.bookingUid, payload.cancellationReason)


def reschedule_booking(payload: RescheduleBooking) -> VendorCall:
    body: dict[str, Any] = {"start": utc_text(payload.start)}
    if payload.reschedulingReason is not None:
        body["reschedulingReason"] = payload.reschedulingReason
    if payload.rescheduledBy is not None:
        body["rescheduledBy"] = payload.rescheduledBy
    path = f"/v2/bookings/{payload.bookingUid}/reschedule"
    return VendorCall("POST", path, Family.BOOKINGS, body=body)


def get_booking(payload: GetBooking) -> VendorCall:
    return VendorCall("GET", f"/v2/bookings/{payload.bookingUid}", Family.BOOKINGS)


def find_bookings(payload: CreateBooking, skip: int) -> VendorCall:
    """One page of the bookings a create_booking may have made: the attendee's bookings of
    the event type from its start on, oldest first."""
    after = parse_instant(payload.start) - LOOKUP_MARGIN
    params = {
        "attendeeEmail": payload.attendee.email,
        "eventTypeId": str(payload.eventTypeId),
        "afterStart": format_utc(after),
        "sortStart": "asc",
        "take": str(LOOKUP_PAGE_SIZE),
        "skip": str(skip),
    }
    return VendorCall("GET", "/v2/bookings", Family.BOOKINGS, params=params)
