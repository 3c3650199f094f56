"""Reading Cal.com's answers: its error body into the vendor's code and message, bookings and
slots into results, and what the connector cannot read into VENDOR_BAD_RESPONSE."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.cal import results
from adapters.cal.errors import cal_error
from gateway.errors import VendorBadResponse

WHERE = "GET /v2/bookings/abc"


def test_cal_com_error_bodies() -> None:
    body = {
        "status": "error",
        "timestamp": "2025-01-01T00:00:00.000Z",
        "path": "/v2/bookings",
        "error": {
            "code": "BadRequestException",
            "message": "User either already has booking at this time or is not available",
            "details": {"statusCode": 400},
        },
    }
    assert cal_error(400, body) == (
        "BadRequestException",
        "User either already has booking at this time or is not available",
    )
    listed = {"status": "error", "error": {"code": "BadRequestException", "message": ["a", "b"]}}
    assert cal_error(400, listed) == ("BadRequestException", "a; b")
    assert cal_error(400, {"status": "error", "error": {"message": "no code"}}) == ("", "no code")
    # Other shapes: NestJS's own, plain text, nothing.
    nest = {"statusCode": 400, "message": "start must be a date", "error": "Bad Request"}
    assert cal_error(400, nest) == ("Bad Request", "start must be a date")
    assert cal_error(502, "Bad gateway") == ("", "Bad gateway")
    assert cal_error(500, None) == ("", "")


BOOKING: dict[str, Any] = {
    "id": 123,
    "uid": "booking_uid_123",
    "title": "Consultation",
    "description": "Learn how to integrate scheduling into marketplace.",
    "hosts": [{"id": 1, "name": "Jane Doe", "email": "jane100@example.com"}],
    "status": "accepted",
    "start": "2024-08-13T15:30:00Z",
    "end": "2024-08-13T16:30:00Z",
    "duration": 60,
    "eventType": {"id": 50, "slug": "some-event"},
    "location": "https://example.com/meeting",
    "attendees": [
        {
            "name": "John Doe",
            "email": "john.doe@example.com",
            "timeZone": "America/New_York",
            "language": "en",
        }
    ],
    "metadata": {"gateway_marker": "ab" * 32},
    "bookingFieldsResponses": {"customField": "customValue"},
}


def test_a_booking_keeps_what_agents_need() -> None:
    read = results.booking({"status": "success", "data": BOOKING}, WHERE)
    assert read.marker == "ab" * 32
    assert read.as_result() == {
        "uid": "booking_uid_123",
        "id": 123,
        "title": "Consultation",
        "status": "accepted",
        "start": "2024-08-13T15:30:00Z",
        "end": "2024-08-13T16:30:00Z",
        "duration": 60,
        "eventTypeId": 50,  # from eventType.id, eventTypeId being deprecated
        "location": "https://example.com/meeting",
        "attendees": [
            {"name": "John Doe", "email": "john.doe@example.com", "timeZone": "America/New_York"}
        ],
    }


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ({"status": "success", "data": [BOOKING, BOOKING]}, "a series of 2 bookings"),
        ({"status": "success", "data": {"id": 1}}, "without a readable uid"),
        ({"status": "success", "data": BOOKING | {"uid": "a/b"}}, "without a readable uid"),
        ({"status": "error", "data": BOOKING}, "not {"),
        ([BOOKING], "not {"),
    ],
)
def test_an_unreadable_booking_is_a_bad_response(body: Any, what: str) -> None:
    with pytest.raises(VendorBadResponse, match="cal answered GET /v2/bookings/abc with") as caught:
        results.booking(body, WHERE)
    assert what in caught.value.message


def test_slots_of_either_format_become_one_list_in_time_order() -> None:
    ranges = {
        "2050-09-06": [
            {"start": "2050-09-06T09:00:00.000+02:00", "end": "2050-09-06T10:00:00.000+02:00"}
        ],
        "2050-09-05": [
            {"start": "2050-09-05T09:00:00.000+02:00", "end": "2050-09-05T10:00:00.000+02:00"},
            {"start": "2050-09-05T10:00:00.000+02:00", "attendeesCount": 1, "bookingUid": "x"},
        ],
    }
    read = results.slots({"status": "success", "data": ranges}, WHERE, "Europe/Rome")
    assert read == {
        "slots": [
            {"start": "2050-09-05T09:00:00.000+02:00", "end": "2050-09-05T10:00:00.000+02:00"},
            {"start": "2050-09-05T10:00:00.000+02:00"},
            {"start": "2050-09-06T09:00:00.000+02:00", "end": "2050-09-06T10:00:00.000+02:00"},
        ],
        "timeZone": "Europe/Rome",
    }
    starts = {"2050-09-05": ["2050-09-05T09:00:00Z"]}
    assert results.slots({"status": "success", "data": starts}, WHERE, None) == {
        "slots": [{"start": "2050-09-05T09:00:00Z"}],
        "timeZone": "UTC",
    }
    unreadable: list[Any] = [[], {"2050-09-05": "soon"}, {"2050-09-05": [{"end": "x"}]}]
    for data in unreadable:
        with pytest.raises(VendorBadResponse):
            results.slots({"status": "success", "data": data}, WHERE, None)


def test_a_page_of_bookings_says_whether_another_follows() -> None:
    page = {"status": "success", "data": [BOOKING], "pagination": {"hasNextPage": True}}
    assert results.booking_page(page, WHERE, 100)[1] is True
    page["pagination"] = {"hasNextPage": False}
    assert results.booking_page(page, WHERE, 1)[1] is False
    # Without pagination details, only a full page may have a next one.
    assert results.booking_page({"status": "success", "data": [BOOKING]}, WHERE, 1)[1] is True
    assert results.booking_page({"status": "success", "data": [BOOKING]}, WHERE, 2)[1] is False
    with pytest.raises(VendorBadResponse):
        results.booking_page({"status": "success", "data": BOOKING}, WHERE, 2)
