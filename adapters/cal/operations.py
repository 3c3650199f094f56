"""Cal.com Scheduling (API v2): payload and result models.

Fields follow Cal.com's API v2 (``GET /v2/slots``; ``/v2/bookings`` and
``/v2/bookings/{bookingUid}[/cancel|/reschedule]``), camelCase as Cal.com spells them. Event
types are chosen by id; the API key is configuration.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Self

from pydantic import (
    BeforeValidator,
    EmailStr,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

from adapters.shared.payloads import (
    MAX_SAFE_INTEGER,
    E164Phone,
    HeaderText,
    Metadata,
    PayloadModel,
    VendorResult,
    integral,
)

from .times import DayOrInstant, Instant, TimeZone, range_bound

# The booking metadata key the gateway's marker travels under; payloads may not use it.
MARKER_KEY = "gateway_marker"
MAX_METADATA_KEYS = 50  # Cal.com's limit, the marker included
MAX_SLOT_RANGE = datetime.timedelta(days=31)  # the gateway's bound on one get_slots answer

EventTypeId = Annotated[
    int, Field(strict=True, ge=1, le=MAX_SAFE_INTEGER), BeforeValidator(integral)
]
Minutes = Annotated[int, Field(strict=True, ge=1, le=1440), BeforeValidator(integral)]
BookingUid = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$", examples=["bDx2bdqVEZ6SgUvzVA6hBr"])
]
Reason = Annotated[str, Field(min_length=1, max_length=1000)]  # free text; may span lines
FieldSlug = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
FieldText = Annotated[StrictStr, Field(max_length=2000)]
BookingFieldValue = FieldText | StrictBool | Annotated[list[FieldText], Field(max_length=50)]
BookingFields = Annotated[dict[FieldSlug, BookingFieldValue], Field(max_length=50)]


class GetSlots(PayloadModel):
    """Find the times an event type can be booked between two days or instants."""

    eventTypeId: EventTypeId = Field(description="The event type to check.", examples=[100])
    start: DayOrInstant = Field(
        description=(
            "From this day (its start, UTC) or instant (ISO 8601 with its offset), "
            "e.g. 2025-09-05 or 2025-09-05T09:00:00Z."
        )
    )
    end: DayOrInstant = Field(
        description=(
            "Until this day (its end, UTC) or instant (ISO 8601 with its offset), at most "
            "31 days after start, e.g. 2025-09-06."
        )
    )
    timeZone: TimeZone | None = Field(
        default=None, description="IANA time zone to express the slots in (default UTC)."
    )
    duration: Minutes | None = Field(
        default=None,
        description="Slot length in minutes, for event types that offer several lengths.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        start = range_bound(self.start, end_of_day=False)
        end = range_bound(self.end, end_of_day=True)
        if end < start:
            raise ValueError("end must not be before start")
        if end - start > MAX_SLOT_RANGE:
            raise ValueError("end must be at most 31 days after start")
        return self


class Attendee(PayloadModel):
    """The person booking."""

    name: HeaderText = Field(min_length=1, max_length=255, description="The attendee's name.")
    email: EmailStr = Field(description="The attendee's email; the confirmation goes here.")
    timeZone: TimeZone = Field(description="The attendee's IANA time zone, e.g. Asia/Riyadh.")
    phoneNumber: E164Phone | None = Field(
        default=None, description="The attendee's phone number in E.164 form."
    )


class CreateBooking(PayloadModel):
    """Book an event type at a free slot (see get_slots)."""

    eventTypeId: EventTypeId = Field(description="The event type to book.", examples=[123])
    start: Instant = Field(
        description=(
            "Start of the booking, ISO 8601 with its offset, e.g. 2025-09-05T09:00:00Z or "
            "2025-09-05T12:00:00+03:00; sent to Cal.com in UTC."
        )
    )
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
        description=(
            "Answers to the event type's custom booking questions, by field slug: text (up "
            "to 2000 characters), true/false, or a list of texts."
        ),
    )
    metadata: Metadata | None = Field(
        default=None,
        description=(
            f"Up to {MAX_METADATA_KEYS - 1} key-value pairs (keys <= 40, values <= 500 "
            f"characters); the key {MARKER_KEY!r} is the gateway's own."
        ),
    )

    @field_validator("metadata")
    @classmethod
    def _marker_room(cls, metadata: dict[str, str] | None) -> dict[str, str] | None:
        if metadata is None:
            return None
        if MARKER_KEY in metadata:
            raise ValueError(f"key {MARKER_KEY!r} is reserved for the gateway")
        if len(metadata) > MAX_METADATA_KEYS - 1:
            raise ValueError(
                f"at most {MAX_METADATA_KEYS - 1} keys (Cal.com allows "
                f"{MAX_METADATA_KEYS}, one of them the gateway's)"
            )
        return metadata


class CancelBooking(PayloadModel):
    """Cancel a booking; attendees are notified."""

    bookingUid: BookingUid = Field(description="The booking's uid.")
    cancellationReason: Reason | None = Field(
        default=None, description="Why the booking is canceled; shown to attendees."
    )


class RescheduleBooking(PayloadModel):
    """Move a booking to a new start time; Cal.com issues a new booking uid."""

    bookingUid: BookingUid = Field(description="The booking's uid.")
    start: Instant = Field(
        description=(
            "New start, ISO 8601 with its offset, e.g. 2025-09-06T10:00:00Z; sent to Cal.com "
            "in UTC."
        )
    )
    reschedulingReason: Reason | None = Field(
        default=None, description="Why the booking moves; shown to attendees."
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

    uid: BookingUid = Field(description="Cal.com booking uid.")
