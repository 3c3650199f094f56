"""The cal adapter against a Cal.com fake that keeps its bookings: the probe, the API key, the
versions each family is sent with, the undo and the lookup of a booking by its marker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.cal.account import CalAccount
from adapters.cal.adapter import CalAdapter
from adapters.cal.operations import CreateBooking, GetBooking, GetSlots
from gateway.contract import AttemptContext
from gateway.errors import (
    ExecutionResultMissing,
    InvalidPayload,
    NotCompensable,
    NotConfigured,
    OutcomeUnknown,
    ShuttingDown,
    UnknownOperation,
    VendorAuthFailed,
    VendorRejected,
)
from tests.adapters.cal.examples import VALID
from tests.adapters.cal.fake_cal import API_KEY, FakeCal, fake_cal
from tests.support.vendor_adapters import attempt, initialized
from tests.support.vendor_recorder import VendorRecorder
from tests.support.vendor_schema import VendorSchema

CAL_SPEC = "calcom/openapi.v2.bookings-slots-event-types.json"
MARKER = "5e" * 32
START = "2025-09-05T09:00:00Z"


def ctx(marker: str = MARKER) -> AttemptContext:
    return attempt(marker=marker)


def booking_payload(**changes: Any) -> CreateBooking:
    return CreateBooking.model_validate(VALID["create_booking"] | {"start": START, **changes})


@dataclass
class Rig:
    cal: FakeCal
    vendor: VendorRecorder
    adapter: CalAdapter


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with (
        fake_cal() as cal,
        VendorRecorder(cal.url) as vendor,
        initialized(CalAdapter(CalAccount(base_url=vendor.url, api_key=API_KEY))) as adapter,
    ):
        yield Rig(cal, vendor, adapter)


# --- the probe ---------------------------------------------------------------------------


async def test_the_probe_reads_the_keys_user(rig: Rig) -> None:
    probe = await rig.adapter.health_check()
    assert (probe.ok, probe.detail, probe.error) == (
        True,
        "GET /v2/me: the API key is accepted",
        None,
    )
    [request] = rig.vendor.requests
    assert (request.method, request.path) == ("GET", "/v2/me")
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "cal-api-version" not in request.headers  # /v2/me is not versioned


async def test_a_refused_key_fails_the_probe_without_showing_it() -> None:
    async with fake_cal(api_key="cal_live_the_right_one") as cal:
        adapter = CalAdapter(CalAccount(base_url=cal.url, api_key=API_KEY))
        await adapter.initialize()
        probe = await adapter.health_check()
        await adapter.shutdown()
    assert not probe.ok
    assert probe.detail == "GET /v2/me: VENDOR_AUTH_FAILED (HTTP 401)"
    assert isinstance(probe.error, VendorAuthFailed)
    assert probe.error.metadata["vendor_code"] == "UnauthorizedException"
    assert API_KEY not in f"{probe.detail} {probe.error.message} {probe.error.metadata}"


async def test_a_failing_vendor_fails_the_probe(rig: Rig) -> None:
    rig.cal.me_status = 500
    probe = await rig.adapter.health_check()
    assert (probe.ok, probe.detail) == (False, "GET /v2/me: VENDOR_ERROR (HTTP 500)")
    assert probe.error is not None
    assert probe.error.metadata["vendor_code"] == "InternalServerErrorException"
    assert "Try later" not in probe.detail  # the vendor's words stay in the metadata


async def test_an_unreachable_vendor_fails_the_probe() -> None:
    async with fake_cal() as cal:
        gone = cal.url
    adapter = CalAdapter(CalAccount(base_url=gone, api_key=API_KEY), probe_timeout_s=2)
    await adapter.initialize()
    probe = await adapter.health_check()
    await adapter.shutdown()
    assert (probe.ok, probe.detail) == (False, "GET /v2/me: VENDOR_UNAVAILABLE")
    assert probe.error is not None
    assert probe.error.metadata["phase"] == "connect"


async def test_without_a_key_the_connector_is_not_configured() -> None:
    adapter = CalAdapter(CalAccount())
    assert not adapter.configured
    await adapter.initialize()
    probe = await adapter.health_check()
    assert (probe.ok, probe.detail) == (
        False,
        "not configured: api_key or api_key_file is required",
    )
    with pytest.raises(NotConfigured):
        await adapter.execute("get_booking", GetBooking(bookingUid="abc"), ctx(""))


# --- the key and the versions ------------------------------------------------------------------


async def test_the_key_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "cal.key"
    secret.write_text(f"{API_KEY}\n", encoding="utf-8")
    async with fake_cal() as cal:
        adapter = CalAdapter(CalAccount(base_url=cal.url, api_key_file=secret))
        await adapter.initialize()
        assert (await adapter.health_check()).ok
        await adapter.shutdown()


async def test_an_unreadable_key_file_stops_the_start_without_quoting_it(tmp_path: Path) -> None:
    adapter = CalAdapter(CalAccount(api_key_file=tmp_path / "missing.key"))
    with pytest.raises(NotConfigured, match="cannot read api_key_file: No such file"):
        await adapter.initialize()


async def test_each_family_is_sent_with_its_configured_version() -> None:
    async with fake_cal() as cal, VendorRecorder(cal.url) as vendor:
        account = CalAccount(
            base_url=vendor.url,
            api_key=API_KEY,
            bookings_api_version="2099-01-01",
            slots_api_version="2099-02-02",
        )
        adapter = CalAdapter(account)
        await adapter.initialize()
        with pytest.raises(VendorRejected) as caught:  # the fake knows only 2024-08-13
            await adapter.execute("get_booking", GetBooking(bookingUid="abc"), ctx(""))
        with pytest.raises(VendorRejected):  # the fake serves no slots: 404
            await adapter.execute("get_slots", GetSlots.model_validate(VALID["get_slots"]), ctx(""))
        await adapter.shutdown()
    assert caught.value.metadata["vendor_code"] == "BadRequestException"
    assert [r.headers["cal-api-version"] for r in vendor.requests] == ["2099-01-01", "2099-02-02"]


async def test_a_payload_of_another_operation_or_an_unknown_operation_is_refused(
    rig: Rig,
) -> None:
    with pytest.raises(InvalidPayload, match="does not take a GetBooking payload"):
        await rig.adapter.execute("create_booking", GetBooking(bookingUid="abc"), ctx())
    with pytest.raises(UnknownOperation):
        await rig.adapter.execute("delete_booking", GetBooking(bookingUid="abc"), ctx())
    assert rig.vendor.requests == []


async def test_a_shut_down_adapter_refuses_calls(rig: Rig) -> None:
    await rig.adapter.shutdown()
    with pytest.raises(ShuttingDown):
        await rig.adapter.execute("get_booking", GetBooking(bookingUid="abc"), ctx(""))
    assert rig.vendor.requests == []


# --- booking, undo ---------------------------------------------------------------------------


async def test_a_booking_carries_the_marker_and_the_result_does_not(rig: Rig) -> None:
    result = await rig.adapter.execute("create_booking", booking_payload(), ctx())
    [request] = rig.vendor.requests
    assert request.json()["metadata"] == {"order_id": "1001", "gateway_marker": MARKER}
    assert request.headers["cal-api-version"] == "2024-08-13"
    VendorSchema.load(CAL_SPEC).check(request)
    stored = rig.cal.bookings[result["uid"]]
    assert stored["metadata"]["gateway_marker"] == MARKER
    assert result["metadata"] == {"order_id": "1001"}
    assert (result["status"], result["start"], result["eventTypeId"]) == (
        "accepted",
        "2025-09-05T09:00:00.000Z",
        123,
    )


async def test_the_undo_cancels_the_booking_with_the_accounts_reason() -> None:
    async with fake_cal() as cal, VendorRecorder(cal.url) as vendor:
        account = CalAccount(base_url=vendor.url, api_key=API_KEY, undo_reason="Sorry, moved.")
        adapter = CalAdapter(account)
        await adapter.initialize()
        made = await adapter.execute("create_booking", booking_payload(), ctx())
        undone = await adapter.compensate("cancel_booking", made, ctx("c" * 64))
        with pytest.raises(ExecutionResultMissing):
            await adapter.compensate("cancel_booking", {"id": 1}, ctx("c" * 64))
        with pytest.raises(NotCompensable):
            await adapter.compensate("reschedule_booking", made, ctx("c" * 64))
        await adapter.shutdown()
    assert (undone["uid"], undone["status"]) == (made["uid"], "cancelled")
    cancel = vendor.requests[-1]
    assert (cancel.method, cancel.path) == ("POST", f"/v2/bookings/{made['uid']}/cancel")
    assert cancel.json() == {"cancellationReason": "Sorry, moved."}
    VendorSchema.load(CAL_SPEC).check(cancel)
    assert len(vendor.requests) == 2


# --- the lookup by marker --------------------------------------------------------------------


def seed(cal: FakeCal, count: int, *, email: str = "sara@example.com") -> None:
    """Other bookings of the same attendee and event type, each with its own marker."""
    for i in range(count):
        cal.add(
            event_type_id=123,
            start=f"2025-09-{6 + i // 96:02d}T{(i % 96) // 4:02d}:{(i % 4) * 15:02d}:00Z",
            email=email,
            metadata={"gateway_marker": f"{i:064x}"},
        )


async def test_the_lookup_pages_until_it_finds_the_marker(rig: Rig) -> None:
    seed(rig.cal, 150)
    made = rig.cal.add(
        event_type_id=123,
        start="2025-09-08T10:00:00Z",
        email="sara@example.com",
        metadata={"gateway_marker": MARKER},
    )
    lookup = await rig.adapter.reconcile("create_booking", booking_payload(), ctx())
    assert lookup.found
    assert lookup.result["uid"] == made["uid"]
    assert [r.query["skip"] for r in rig.vendor.requests] == [["0"], ["100"]]
    first = rig.vendor.requests[0]
    assert {k: v[0] for k, v in first.query.items()} == {
        "attendeeEmail": "sara@example.com",
        "eventTypeId": "123",
        "afterStart": "2025-09-05T08:59:00Z",
        "sortStart": "asc",
        "take": "100",
        "skip": "0",
    }
    for request in rig.vendor.requests:
        VendorSchema.load(CAL_SPEC).check(request)


async def test_the_lookup_says_not_found_only_after_the_last_page(rig: Rig) -> None:
    seed(rig.cal, 120)
    rig.cal.add(event_type_id=124, start=START, email="sara@example.com", metadata={})
    lookup = await rig.adapter.reconcile("create_booking", booking_payload(), ctx())
    assert not lookup.found
    assert [r.query["skip"] for r in rig.vendor.requests] == [["0"], ["100"]]


async def test_too_many_candidates_leave_the_outcome_unknown(rig: Rig) -> None:
    seed(rig.cal, 1001)
    with pytest.raises(OutcomeUnknown, match="more than 1000 bookings"):
        await rig.adapter.reconcile("create_booking", booking_payload(), ctx())
    assert len(rig.vendor.requests) == 10


async def test_only_a_booking_is_looked_up(rig: Rig) -> None:
    with pytest.raises(OutcomeUnknown):
        await rig.adapter.reconcile("cancel_booking", GetBooking(bookingUid="abc"), ctx())
    with pytest.raises(OutcomeUnknown):
        await rig.adapter.reconcile("create_booking", booking_payload(), ctx(""))
    assert rig.vendor.requests == []
