"""The cal connector's contract and payload models: what an agent may send, refused before
any vendor is called when it breaks a rule, and what reaches Cal.com when it does not."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.cal import PLUGIN, wire
from adapters.cal.operations import (
    CancelBooking,
    CreateBooking,
    GetSlots,
    RescheduleBooking,
)
from gateway.contract import Idempotency, PolicyClass
from tests.adapters.cal.examples import VALID
from tests.support.payload_examples import Examples, through_struct

METADATA = PLUGIN.metadata
MARKER = "ab" * 32


EXAMPLES = Examples(METADATA, VALID)
model, valid, refused = EXAMPLES.model, EXAMPLES.valid, EXAMPLES.refused


def test_the_contract() -> None:
    METADATA.validate()
    assert (METADATA.version, METADATA.display_name) == ("1.0.0", "Cal.com Scheduling")
    assert {
        op.name: (op.policy_class, op.idempotency, op.compensation) for op in METADATA.operations
    } == {
        "get_slots": (PolicyClass.A, Idempotency.NONE, None),
        "get_booking": (PolicyClass.A, Idempotency.NONE, None),
        "create_booking": (PolicyClass.B, Idempotency.GATEWAY, "cancel_booking"),
        "cancel_booking": (PolicyClass.B, Idempotency.GATEWAY, None),
        "reschedule_booking": (PolicyClass.B, Idempotency.GATEWAY, None),
    }
    assert {"booking_created", "booking_failed"} <= set(METADATA.audit_event_types)


@pytest.mark.parametrize("operation", sorted(VALID))
def test_every_example_survives_the_struct_round_trip(operation: str) -> None:
    from_struct = model(operation).model_validate(through_struct(VALID[operation]))
    assert from_struct == model(operation).model_validate(VALID[operation])


@pytest.mark.parametrize("operation", sorted(VALID))
def test_unknown_fields_are_refused(operation: str) -> None:
    assert "Extra inputs are not permitted" in refused(operation, valid(operation) | {"x": 1})


@pytest.mark.parametrize("operation", sorted(VALID))
def test_every_field_is_described(operation: str) -> None:
    schema = model(operation).model_json_schema()
    for node in [schema, *schema.get("$defs", {}).values()]:
        assert node.get("additionalProperties") is False
        for prop in node["properties"].values():
            assert prop.get("description"), (operation, prop)


@pytest.mark.parametrize(
    "start",
    [
        "2025-09-05T09:00:00",  # no offset: a different moment in each time zone
        "2025-09-05 09:00:00Z",
        "2025-09-05T09:00Z",
        "2025-02-30T09:00:00Z",
        "2025-09-05T09:00:00+25:00",
        "2025-09-05",
        "2025-09-05T09:00:00.1234Z",
        "٢٠٢٥-09-05T09:00:00Z",
        "9999-12-31T23:00:00-05:00",  # beyond the calendar in UTC
        "0001-01-01T00:00:00Z",
    ],
)
def test_an_instant_needs_a_valid_date_time_and_offset(start: str) -> None:
    refused("create_booking", valid("create_booking") | {"start": start})
    refused("reschedule_booking", valid("reschedule_booking") | {"start": start})


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("2025-09-05T12:00:00+03:00", "2025-09-05T09:00:00Z"),
        ("2025-09-05T09:00:00Z", "2025-09-05T09:00:00Z"),
        ("2025-09-05T01:30:00.250-05:30", "2025-09-05T07:00:00.250Z"),
    ],
)
def test_instants_reach_cal_com_in_utc(given: str, sent: str) -> None:
    booking = CreateBooking.model_validate(valid("create_booking") | {"start": given})
    assert wire.create_booking(booking, MARKER).body == {
        "eventTypeId": 123,
        "start": sent,
        "attendee": VALID["create_booking"]["attendee"],
        "lengthInMinutes": 30,
        "guests": ["guest@example.com"],
        "bookingFieldsResponses": {"notes": "Bring the contract", "agree": True},
        "metadata": {"order_id": "1001", "gateway_marker": MARKER},
    }
    moved = RescheduleBooking.model_validate(valid("reschedule_booking") | {"start": given})
    assert wire.reschedule_booking(moved).body == {
        "start": sent,
        "reschedulingReason": "Clash",
        "rescheduledBy": "owner@example.com",
    }


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "Asia/Riyad", "GMT+3", "+03:00", "asia riyadh", "Asia/Riyadh\n"]
)
def test_a_time_zone_must_be_in_the_iana_database(zone: str) -> None:
    payload = valid("create_booking")
    payload["attendee"]["timeZone"] = zone
    refused("create_booking", payload)
    refused("get_slots", valid("get_slots") | {"timeZone": zone})


def test_known_time_zones_are_accepted() -> None:
    for zone in ("UTC", "Europe/Rome", "America/Argentina/Buenos_Aires", "Etc/GMT+3"):
        payload = valid("create_booking")
        payload["attendee"]["timeZone"] = zone
        model("create_booking").model_validate(payload)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("attendee", "email"), "not-an-email"),
        (("attendee", "name"), ""),
        (("attendee", "name"), "Sara\nAli"),
        (("attendee", "phoneNumber"), "0501234567"),
        (("guests",), ["nobody"]),
        (("eventTypeId",), 0),
        (("eventTypeId",), 1.5),
        (("eventTypeId",), "123"),
        (("lengthInMinutes",), 0),
        (("lengthInMinutes",), 1441),
        (("bookingFieldsResponses",), {"bad key": "x"}),
        (("bookingFieldsResponses",), {"notes": 7}),
        (("bookingFieldsResponses",), {"notes": "x" * 2001}),
    ],
)
def test_a_broken_booking_is_refused(path: tuple[str, ...], value: Any) -> None:
    payload = valid("create_booking")
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    refused("create_booking", payload)


def test_an_attendee_needs_a_name_an_email_and_a_time_zone() -> None:
    for field in ("name", "email", "timeZone"):
        payload = valid("create_booking")
        del payload["attendee"][field]
        assert field in refused("create_booking", payload)


def test_the_marker_key_is_the_gateways_and_leaves_room_for_it() -> None:
    payload = valid("create_booking")
    payload["metadata"] = {"gateway_marker": "mine"}
    assert "reserved for the gateway" in refused("create_booking", payload)
    payload["metadata"] = {f"k{i}": "v" for i in range(50)}
    assert "at most 49 keys" in refused("create_booking", payload)
    payload["metadata"] = {f"k{i}": "v" for i in range(49)}
    booking = CreateBooking.model_validate(payload)
    sent = wire.create_booking(booking, MARKER).body
    assert sent is not None
    assert len(sent["metadata"]) == 50
    assert sent["metadata"]["gateway_marker"] == MARKER


def test_slot_ranges() -> None:
    same_day = {"eventTypeId": 1, "start": "2025-09-05T09:00:00Z", "end": "2025-09-05"}
    GetSlots.model_validate(same_day)  # a bare end day means the end of that day
    GetSlots.model_validate(same_day | {"start": "2025-09-05T12:00:00+03:00"})
    assert "before start" in refused("get_slots", same_day | {"end": "2025-09-04"})
    refused("get_slots", same_day | {"start": "2025-13-01"})
    refused("get_slots", same_day | {"eventTypeId": 0})
    assert "31 days" in refused("get_slots", same_day | {"end": "2025-10-06"})
    GetSlots.model_validate(same_day | {"start": "2025-09-05", "end": "2025-10-05"})


def test_slots_are_asked_for_as_ranges_in_utc() -> None:
    slots = GetSlots.model_validate(valid("get_slots") | {"start": "2025-09-05T12:00:00+03:00"})
    call = wire.get_slots(slots)
    assert (call.method, call.path, call.family) == ("GET", "/v2/slots", wire.Family.SLOTS)
    assert call.params == {
        "eventTypeId": "100",
        "start": "2025-09-05T09:00:00Z",
        "end": "2025-09-06T18:00:00Z",
        "format": "range",
        "timeZone": "Asia/Riyadh",
        "duration": "30",
    }


def test_a_cancellation_without_a_reason_sends_an_empty_body() -> None:
    call = wire.cancel(CancelBooking.model_validate({"bookingUid": "abc"}))
    assert (call.path, call.body) == ("/v2/bookings/abc/cancel", {})
    refused("cancel_booking", {"bookingUid": "abc", "cancellationReason": ""})
    refused("cancel_booking", {"bookingUid": "../me"})
    refused("cancel_booking", {"bookingUid": "a" * 129})
