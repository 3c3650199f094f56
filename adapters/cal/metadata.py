"""The ``cal`` connector's contract: Cal.com Scheduling (API v2)."""

from __future__ import annotations

from gateway.contract import (
    ConnectorMetadata,
    DataClassification,
    Idempotency,
    OperationSpec,
    PolicyClass,
    RateLimit,
    RetryPolicy,
)

from .operations import (
    BookingCreated,
    CancelBooking,
    CreateBooking,
    GetBooking,
    GetSlots,
    RescheduleBooking,
)

METADATA = ConnectorMetadata(
    key="cal",
    display_name="Cal.com Scheduling",
    display_name_ar="كال دوت كوم للمواعيد",
    version="1.0.0",
    contract_url="https://cal.com/docs/api-reference/v2/bookings/create-a-booking",
    operations=(
        OperationSpec(
            name="cancel_booking",
            description=(
                "Cancel a booking and notify its attendees. Not compensable: a canceled "
                "booking cannot be restored."
            ),
            payload_model=CancelBooking,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            success_event="booking_canceled",
            failure_event="booking_cancel_failed",
        ),
        OperationSpec(
            name="create_booking",
            description=(
                "Book an event type at a free slot for an attendee. Compensated by "
                "cancel_booking. An unknown outcome is settled by finding the booking at "
                "Cal.com by the marker the gateway puts in its metadata."
            ),
            payload_model=CreateBooking,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation="cancel_booking",
            result_model=BookingCreated,
            success_event="booking_created",
            failure_event="booking_failed",
        ),
        OperationSpec(
            name="get_booking",
            description="Read a booking by uid: its time, status, event type and attendees.",
            payload_model=GetBooking,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="booking_read",
            failure_event="booking_read_failed",
        ),
        OperationSpec(
            name="get_slots",
            description=(
                "List the free slots of an event type in a time range of up to 31 days, "
                "each with its start and end."
            ),
            payload_model=GetSlots,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="slots_read",
            failure_event="slots_read_failed",
        ),
        OperationSpec(
            name="reschedule_booking",
            description=(
                "Move a booking to a new time and notify its attendees; Cal.com answers "
                "with the new booking's uid. Not compensable: moving it back is a new "
                "decision."
            ),
            payload_model=RescheduleBooking,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            success_event="booking_rescheduled",
            failure_event="booking_reschedule_failed",
        ),
    ),
    # Standard backoff: Cal.com's API rate limit is per minute, so short waits suffice.
    retry_policy=RetryPolicy(),
    # Booking writes sync external calendars and send emails before answering.
    timeout_ms=15_000,
    # Cal.com API v2 allows 120 requests a minute per API key.
    rate_limit=RateLimit(per_second=2, burst=120),
    # Cal.com takes no idempotency key: the gateway replays the first result, and finds a
    # booking whose answer was lost by the marker in its metadata.
    idempotency=Idempotency.GATEWAY,
    # Attendee names, emails and phone numbers are personal data.
    data_classification=DataClassification.CONFIDENTIAL,
)
