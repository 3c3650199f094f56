"""Valid payloads of the cal connector's operations, as an agent sends them."""

from __future__ import annotations

from typing import Any

BOOKING_UID = "bDx2bdqVEZ6SgUvzVA6hBr"
EVENT_TYPE_ID = 123

ATTENDEE: dict[str, Any] = {
    "name": "Sara Ali",
    "email": "sara@example.com",
    "timeZone": "Asia/Riyadh",
    "phoneNumber": "+966501234567",
}

# One valid payload per operation; every top-level integer field is present.
VALID: dict[str, dict[str, Any]] = {
    "get_slots": {
        "eventTypeId": 100,
        "start": "2025-09-05",
        "end": "2025-09-06T18:00:00Z",
        "timeZone": "Asia/Riyadh",
        "duration": 30,
    },
    "create_booking": {
        "eventTypeId": EVENT_TYPE_ID,
        "start": "2025-09-05T12:00:00+03:00",
        "attendee": ATTENDEE,
        "lengthInMinutes": 30,
        "guests": ["guest@example.com"],
        "bookingFieldsResponses": {"notes": "Bring the contract", "agree": True},
        "metadata": {"order_id": "1001"},
    },
    "cancel_booking": {"bookingUid": BOOKING_UID, "cancellationReason": "Ill"},
    "reschedule_booking": {
        "bookingUid": BOOKING_UID,
        "start": "2025-09-06T10:00:00Z",
        "reschedulingReason": "Clash",
        "rescheduledBy": "owner@example.com",
    },
    "get_booking": {"bookingUid": BOOKING_UID},
}
