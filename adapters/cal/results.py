"""Cal.com's answers read into the results agents receive.

Answers are ``{"status": "success", "data": ...}``. A booking is kept as its uid, id, time,
status, event type, attendees and the metadata the caller set (the gateway's marker left
out); slots as one list in time order. An answer without what an operation needs is
``VENDOR_BAD_RESPONSE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from gateway.errors import VendorBadResponse

from .operations import MARKER_KEY, BookingUid


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class BookedAttendee(_Answer):
    name: str | None = None
    email: str | None = None
    timeZone: str | None = None


class Booking(_Answer):
    uid: BookingUid
    id: int | None = None
    title: str | None = None
    status: str | None = None
    start: str | None = None
    end: str | None = None
    duration: int | None = None
    eventTypeId: int | None = None
    location: str | None = None
    attendees: list[BookedAttendee] = []
    guests: list[str] | None = None
    cancellationReason: str | None = None
    reschedulingReason: str | None = None
    rescheduledFromUid: str | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _event_type_id(cls, data: Any) -> Any:
        """``eventTypeId`` is deprecated in favour of ``eventType.id``; either will do."""
        if isinstance(data, Mapping) and data.get("eventTypeId") is None:
            event_type = data.get("eventType")
            if isinstance(event_type, Mapping) and event_type.get("id") is not None:
                return {**data, "eventTypeId": event_type["id"]}
        return data

    @property
    def marker(self) -> str | None:
        value = (self.metadata or {}).get(MARKER_KEY)
        return value if isinstance(value, str) else None

    def as_result(self) -> dict[str, Any]:
        result = self.model_dump(mode="json", exclude_none=True)
        metadata = {k: v for k, v in (self.metadata or {}).items() if k != MARKER_KEY}
        if metadata:
            result["metadata"] = metadata
        else:
            result.pop("metadata", None)
        return result


def _bad(where: str, what: str) -> VendorBadResponse:
    return VendorBadResponse(
        f"cal answered {where} with {what}; it may have acted: check with the vendor before "
        "repeating it",
        metadata={"vendor_status": "200"},
    )


def data_of(body: Any, where: str) -> Any:
    if not isinstance(body, Mapping) or body.get("status") != "success" or "data" not in body:
        raise _bad(where, 'a body that is not {"status": "success", "data": ...}')
    return body["data"]


def booking(body: Any, where: str) -> Booking:
    """The one booking an answer carries."""
    data = data_of(body, where)
    if isinstance(data, list):
        # A recurring event type books (and reads as) a series, which this connector does not.
        raise _bad(where, f"a series of {len(data)} bookings (a recurring event type)")
    try:
        return Booking.model_validate(data)
    except ValidationError:
        raise _bad(where, "a booking without a readable uid") from None


def booking_page(body: Any, where: str, page_size: int) -> tuple[list[Booking], bool]:
    """One page of bookings and whether another follows (a full page without pagination
    details may have one)."""
    data = data_of(body, where)
    if not isinstance(data, list):
        raise _bad(where, "bookings that are not a list")
    try:
        bookings = [Booking.model_validate(item) for item in data]
    except ValidationError:
        raise _bad(where, "a booking without a readable uid") from None
    pagination = body.get("pagination")
    if isinstance(pagination, Mapping) and isinstance(pagination.get("hasNextPage"), bool):
        return bookings, pagination["hasNextPage"]
    return bookings, len(bookings) >= page_size


def slots(body: Any, where: str, time_zone: str | None) -> dict[str, Any]:
    """``{"slots": [{"start", "end"}...], "timeZone"}`` from Cal.com's slots by day."""
    data = data_of(body, where)
    if not isinstance(data, Mapping):
        raise _bad(where, "slots that are not grouped by day")
    found: list[dict[str, str]] = []
    for day in sorted(data):
        entries = data[day]
        if not isinstance(entries, list):
            raise _bad(where, "a day whose slots are not a list")
        found.extend(_slot(entry, where) for entry in entries)
    return {"slots": found, "timeZone": time_zone or "UTC"}


def _slot(entry: Any, where: str) -> dict[str, str]:
    if isinstance(entry, str):  # the format without ranges: the start alone
        return {"start": entry}
    if isinstance(entry, Mapping) and isinstance(entry.get("start"), str):
        slot = {"start": entry["start"]}
        if isinstance(entry.get("end"), str):
            slot["end"] = entry["end"]
        return slot
    raise _bad(where, "a slot without a start")


def authenticated(body: Any, where: str) -> None:
    """``GET /v2/me`` answered with the key's user."""
    if not isinstance(data_of(body, where), Mapping):
        raise _bad(where, "a user that is not an object")
