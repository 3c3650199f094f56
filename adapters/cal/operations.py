"""Cal.com Scheduling (API v2): payload and result models.

Fields follow Cal.com's API v2 (``GET /v2/slots``, cal-api-version 2024-09-04; ``/v2/bookings``
and ``/v2/bookings/{bookingUid}[/cancel|/reschedule]``, cal-api-version 2024-08-13), camelCase
as Cal.com spells them. Event types are chosen by id; the API key is configuration.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Self

from pydantic import BeforeValidator, EmailStr, Field, StrictBool, StrictStr, model_validator

from adapters.shared.payloads import (
    MAX_SAFE_INTEGER,
    E164Phone,
    HeaderText,
    Metadata,
    PayloadModel,
    UtcDateOrDateTime,
    UtcDateTime,
    VendorResult,
    integral,
)

EventTypeId = Annotated[
    int, Field(strict=True, ge=1, le=MAX_SAFE_INTEGER), BeforeValidator(integral)
]
Minutes = Annotated[int, Field(strict=True, ge=1, le=1440), BeforeValidator(integral)]
BookingUid = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$", examples=["bDx2bdqVEZ6SgUvzVA6hBr"])
]
# An IANA time zone name: Region/City, or UTC.
TimeZone = Annotated[
    str,
    Field(
        pattern=r"^(UTC|[A-Za-z]+(/[A-Za-z0-9_+-]+){1,2})$",
        max_length=64,
        examples=["Asia/Riyadh", "Europe/Rome"],
    ),
]
BookingFieldValue = StrictStr | StrictBool | list[StrictStr]
BookingFields = Annotated[dict[str, BookingFieldValue], Field(max_length=50)]


def _instant(value: str, *, end_of_day: bool) -> datetime.datetime:
    """A validated UTC day or instant as an aware datetime; a day means its start or its end."""
    if "T" in value:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    day = datetime.date.fromisoformat(value)
    moment = datetime.time.max if end_of_day else datetime.time.min
    return datetime.datetime.combine(day, moment, tzinfo=datetime.UTC)


class GetSlots(PayloadModel):
    """Find the times an event type can be booked between two days or instants."""

    eventTypeId: EventTypeId = Field(description="The event type to check.", examples=[100])
    start: UtcDateOrDateTime = Field(
        description="From this UTC day (start of day) or instant, e.g. 2025-09-05."
    )
    end: UtcDateOrDateTime = Field(
        description="Until this UTC day (end of day) or instant, e.g. 2025-09-06."
    )
    timeZone: TimeZone | None = Field(
        default=None, description="Time zone to express the slots in (default UTC)."
    )
    duration: Minutes | None = Field(
        default=None,
        description="Slot length in minutes, for event types that offer several lengths.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if _instant(self.end, end_of_day=True) < _instant(self.start, end_of_day=False):
            raise ValueError("end must not be before start")
        return self


class Attendee(PayloadModel):
    """The person booking."""

    name: HeaderText = Field(min_length=1, max_length=255, description="The attendee's name.")
    email: EmailStr = Field(description="The attendee's email; the confirmation goes here.")
    timeZone: TimeZone = Field(description="The attendee's time zone, e.g. Asia/Riyadh.")
    phoneNumber: E164Phone | None = Field(
        default=None, description="The attendee's phone number in E.164 form."
    )


class CreateBooking(PayloadModel):
    """Book an event type at a free slot (see get_slots)."""

    eventTypeId: EventTypeId = Field(description="The event type to book.", examples=[123])
    start: UtcDateTime = Field(description="Start of the booking, UTC, e.g. 2025-09-05T09:00:00Z.")
    attendee: Attendee = Field(description="Who the booking is for.")
    lengthInMinutes: Minutes | None = Field(
        default=None,
        description="Length for event types with several lengths; default: the event type's.",
    )
    guests: list[EmailStr] = Field(
        default_factory=list, max_length=20, description="Additional guests' email addresses."
    )
    bookingFieldsResponses: BookingFields | None = Field(
        default=None,
        description="Answers to the event type's custom booking questions, by field slug.",
    )
    metadata: Metadata | None = Field(
        default=None,
        description="Up to 50 key-value pairs (keys <= 40, values <= 500 characters).",
    )


class CancelBooking(PayloadModel):
    """Cancel a booking; attendees are notified."""

    bookingUid: BookingUid = Field(description="The booking's uid.")
    cancellationReason: str | None = Field(
        default=None,
        max_length=1000,
        description="Why the booking is canceled; shown to attendees.",
    )


class RescheduleBooking(PayloadModel):
    """Move a booking to a new start time; Cal.com issues a new booking uid."""

    bookingUid: BookingUid = Field(description="The booking's uid.")
    start: UtcDateTime = Field(description="New start, UTC, e.g. 2025-09-06T10:00:00Z.")
    reschedulingReason: str | None = Field(
        default=None, max_length=1000, description="Why the booking moves; shown to attendees."
    )
    rescheduledBy: EmailStr | None = Field(
        default=None,
        description=(
            "Who reschedules; the event type owner's email confirms a booking that needs "
            "confirmation."
        ),
    )


class GetBooking(PayloadModel):
    """Read a booking's time, attendees and status."""

    bookingUid: BookingUid = Field(description="The booking's uid.")


class BookingCreated(VendorResult):
    """What create_booking returns: the uid cancel_booking needs."""

    uid: str = Field(min_length=1, max_length=200, description="Cal.com booking uid.")
