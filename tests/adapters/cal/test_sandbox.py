"""The real Cal.com adapter against the Cal.com sandbox: free slots derived from the host's
schedule and the bookings, every booking operation and the undo, the booking found again by
its marker after a lost answer (across pages), the list's filters, the per-family
``cal-api-version``, the probe, tenants kept apart, answers in the shapes of Cal.com's
published description, and each kind of fault."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.cal.account import CalAccount
from adapters.cal.adapter import CalAdapter
from adapters.cal.operations import (
    Attendee,
    CancelBooking,
    CreateBooking,
    GetBooking,
    GetSlots,
    RescheduleBooking,
)
from adapters.cal.sandbox import CalSandbox
from gateway.errors import (
    GatewayError,
    VendorAuthFailed,
    VendorError,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from gateway.sandbox import SandboxFault
from tests.support.vendor_adapters import SandboxRig, attempt, fault_of, faulty, serving
from tests.support.vendor_answers import answer_problems
from tests.support.vendor_schema import VendorSchema

pytestmark = pytest.mark.timeout(30)

CAL_SPEC = "calcom/openapi.v2.bookings-slots-event-types.json"
EVENT_TYPE = 42


def _monday() -> datetime.date:
    """A Monday one to two weeks ahead: its whole working day is still to come."""
    today = datetime.datetime.now(datetime.UTC).date()
    return today + datetime.timedelta(days=14 - today.weekday())


MONDAY = _monday()
TUESDAY = MONDAY + datetime.timedelta(days=1)
SATURDAY = MONDAY + datetime.timedelta(days=5)


def at(day: datetime.date, clock: str, offset: str = "Z") -> str:
    return f"{day.isoformat()}T{clock}:00{offset}"


def cal_at(day: datetime.date, clock: str) -> str:
    """An instant as Cal.com answers it."""
    return f"{day.isoformat()}T{clock}:00.000Z"


def booking(start: str, email: str = "ada@example.com", **more: Any) -> CreateBooking:
    return CreateBooking(
        eventTypeId=EVENT_TYPE,
        start=start,
        attendee=Attendee(name="Ada Lovelace", email=email, timeZone="Asia/Riyadh"),
        **more,
    )


class Rig(SandboxRig[CalSandbox, CalAdapter]):
    async def slot_starts(self, day: datetime.date, **more: Any) -> list[str]:
        found = await self.run(
            "get_slots",
            GetSlots(eventTypeId=EVENT_TYPE, start=day.isoformat(), end=day.isoformat(), **more),
        )
        return [slot["start"] for slot in found["slots"]]

    async def call(
        self,
        method: str,
        path: str,
        *,
        version: str | None = "2024-08-13",
        json: Any = None,
        params: dict[str, str] | None = None,
        tenant: str = "acme",
    ) -> tuple[int, dict[str, Any]]:
        """A request as Cal.com's own clients send it, with the tenant's key."""
        account = self.sandbox.account_for(tenant)
        assert account.api_key is not None
        headers = {"Authorization": f"Bearer {account.api_key.get_secret_value()}"}
        if version is not None:
            headers["cal-api-version"] = version
        async with self.session.request(
            method, f"{account.base_url}{path}", json=json, params=params, headers=headers
        ) as answer:
            return answer.status, await answer.json()


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with Rig.started(CalSandbox(fault_of(request)), CalAdapter) as started:
        yield started


async def test_the_account_points_at_loopback_with_a_key_of_each_tenant(rig: Rig) -> None:
    acme, globex = rig.sandbox.account_for("acme"), rig.sandbox.account_for("globex")
    assert acme.base_url == globex.base_url == rig.sandbox.base_url
    assert acme.base_url.startswith("http://127.0.0.1:")
    assert acme.api_key != globex.api_key
    assert rig.sandbox.account_for("acme") == acme


async def test_slots_follow_the_hosts_working_day_and_leave_out_what_is_booked(rig: Rig) -> None:
    every_half_hour = [
        cal_at(MONDAY, f"{hour:02d}:{minute:02d}") for hour in range(9, 17) for minute in (0, 30)
    ]
    assert await rig.slot_starts(MONDAY) == every_half_hour
    assert await rig.slot_starts(SATURDAY) == []
    hourly = await rig.slot_starts(MONDAY, duration=60)
    assert hourly == [cal_at(MONDAY, f"{hour:02d}:00") for hour in range(9, 17)]

    made = await rig.run("create_booking", booking(at(MONDAY, "13:00", "+03:00")))  # 10:00 UTC
    assert made["start"] == cal_at(MONDAY, "10:00")
    free = await rig.slot_starts(MONDAY)
    assert free == [s for s in every_half_hour if s != cal_at(MONDAY, "10:00")]
    assert cal_at(MONDAY, "10:00") not in await rig.slot_starts(MONDAY, duration=60)

    in_riyadh = await rig.run(
        "get_slots",
        GetSlots(
            eventTypeId=EVENT_TYPE,
            start=at(MONDAY, "09:00"),
            end=at(MONDAY, "09:59"),
            timeZone="Asia/Riyadh",
        ),
    )
    assert in_riyadh == {
        "slots": [
            {"start": f"{MONDAY}T12:00:00.000+03:00", "end": f"{MONDAY}T12:30:00.000+03:00"},
            {"start": f"{MONDAY}T12:30:00.000+03:00", "end": f"{MONDAY}T13:00:00.000+03:00"},
        ],
        "timeZone": "Asia/Riyadh",
    }

    await rig.run("cancel_booking", CancelBooking(bookingUid=made["uid"]))
    assert await rig.slot_starts(MONDAY) == every_half_hour  # a cancelled booking frees it


async def test_a_booking_is_made_read_and_cancelled(rig: Rig) -> None:
    payload = booking(
        at(MONDAY, "09:00"),
        lengthInMinutes=45,
        guests=["bo@example.com"],
        bookingFieldsResponses={"topic": "pricing"},
        metadata={"order": "A-1"},
    )
    made = await rig.run("create_booking", payload)
    assert made["status"] == "accepted"
    assert (made["start"], made["end"], made["duration"]) == (
        cal_at(MONDAY, "09:00"),
        cal_at(MONDAY, "09:45"),
        45,
    )
    assert made["eventTypeId"] == EVENT_TYPE
    assert made["attendees"] == [
        {"name": "Ada Lovelace", "email": "ada@example.com", "timeZone": "Asia/Riyadh"}
    ]
    assert made["guests"] == ["bo@example.com"]
    assert made["metadata"] == {"order": "A-1"}  # the marker is the connector's own
    read = await rig.run("get_booking", GetBooking(bookingUid=made["uid"]))
    assert read == made

    cancelled = await rig.run(
        "cancel_booking", CancelBooking(bookingUid=made["uid"], cancellationReason="Ill")
    )
    assert (cancelled["uid"], cancelled["status"], cancelled["cancellationReason"]) == (
        made["uid"],
        "cancelled",
        "Ill",
    )
    with pytest.raises(VendorRejected) as twice:
        await rig.run("cancel_booking", CancelBooking(bookingUid=made["uid"]))
    assert twice.value.metadata["vendor_code"] == "BadRequestException"
    with pytest.raises(VendorRejected) as unknown:
        await rig.run("get_booking", GetBooking(bookingUid="nothere"))
    assert (unknown.value.metadata["vendor_status"], unknown.value.metadata["vendor_code"]) == (
        "404",
        "NotFoundException",
    )
    [created, cancel] = rig.sandbox.received("acme")
    assert created == {
        "event": "BOOKING_CREATED",
        "uid": made["uid"],
        "eventTypeId": EVENT_TYPE,
        "start": made["start"],
        "end": made["end"],
        "attendee": "ada@example.com",
        "guests": ["bo@example.com"],
    }
    assert (cancel["event"], cancel["cancellationReason"]) == ("BOOKING_CANCELLED", "Ill")


async def test_the_undo_cancels_the_booking_with_the_accounts_reason(rig: Rig) -> None:
    made = await rig.run("create_booking", booking(at(MONDAY, "11:00")))
    undone = await rig.undo("cancel_booking", made)
    assert (undone["uid"], undone["status"]) == (made["uid"], "cancelled")
    assert undone["cancellationReason"] == CalAccount().undo_reason
    assert rig.events() == ["BOOKING_CREATED", "BOOKING_CANCELLED"]


async def test_a_reschedule_makes_a_new_booking_and_frees_the_old_time(rig: Rig) -> None:
    made = await rig.run("create_booking", booking(at(MONDAY, "14:00"), metadata={"k": "v"}))
    moved = await rig.run(
        "reschedule_booking",
        RescheduleBooking(
            bookingUid=made["uid"],
            start=at(TUESDAY, "15:30"),
            reschedulingReason="Clash",
            rescheduledBy="host@example.com",
        ),
    )
    assert moved["uid"] != made["uid"]
    assert (moved["rescheduledFromUid"], moved["status"], moved["start"]) == (
        made["uid"],
        "accepted",
        cal_at(TUESDAY, "15:30"),
    )
    assert (moved["attendees"], moved["metadata"]) == (made["attendees"], {"k": "v"})
    old = await rig.run("get_booking", GetBooking(bookingUid=made["uid"]))
    assert old["status"] == "cancelled"
    assert cal_at(MONDAY, "14:00") in await rig.slot_starts(MONDAY)
    assert cal_at(TUESDAY, "15:30") not in await rig.slot_starts(TUESDAY)
    with pytest.raises(VendorRejected):
        await rig.run(
            "reschedule_booking",
            RescheduleBooking(bookingUid=made["uid"], start=at(TUESDAY, "09:00")),
        )
    [_, rescheduled] = rig.sandbox.received("acme")
    assert (rescheduled["event"], rescheduled["uid"], rescheduled["rescheduledFromUid"]) == (
        "BOOKING_RESCHEDULED",
        moved["uid"],
        made["uid"],
    )


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (at(MONDAY, "10:15"), "already has booking"),  # overlaps 10:00-10:30
        (at(MONDAY, "16:45"), "not available"),  # ends after 17:00
        (at(MONDAY, "08:00"), "not available"),  # before the working day
        (at(SATURDAY, "10:00"), "not available"),  # not a working day
        ("2020-01-06T10:00:00Z", "in the past"),
    ],
)
async def test_a_booking_the_schedule_has_no_room_for_is_refused(
    rig: Rig, start: str, message: str
) -> None:
    await rig.run("create_booking", booking(at(MONDAY, "10:00")))
    with pytest.raises(VendorRejected) as refused:
        await rig.run("create_booking", booking(start))
    assert refused.value.metadata["vendor_code"] == "BadRequestException"
    status, body = await rig.call(
        "POST",
        "/v2/bookings",
        json={
            "eventTypeId": EVENT_TYPE,
            "start": start,
            "attendee": {"name": "Bo", "email": "bo@example.com", "timeZone": "UTC"},
        },
    )
    assert status == 400
    assert message in body["error"]["message"]
    assert rig.events() == ["BOOKING_CREATED"]


@faulty(drop=True, at="POST /v2/bookings", times=1)
async def test_a_booking_whose_answer_was_lost_is_found_by_its_marker(rig: Rig) -> None:
    payload = booking(at(MONDAY, "12:00"), metadata={"order": "A-7"})
    with pytest.raises(VendorUnavailable) as dropped:
        await rig.run("create_booking", payload, marker="a" * 64)
    assert dropped.value.may_have_acted
    [made] = rig.sandbox.received("acme")

    found = await rig.adapter.reconcile("create_booking", payload, attempt(marker="a" * 64))
    assert found.found
    assert found.result is not None
    assert (found.result["uid"], found.result["metadata"]) == (made["uid"], {"order": "A-7"})
    other = await rig.adapter.reconcile("create_booking", payload, attempt(marker="b" * 64))
    assert not other.found
    assert rig.events() == ["BOOKING_CREATED"]


async def test_the_lookup_reads_every_page_of_the_attendees_bookings(rig: Rig) -> None:
    day, made = MONDAY, 0
    while made < 105:  # more than one page of 100, all of one attendee and event type
        for minute in range(9 * 60, 17 * 60, 15):
            if made == 105:
                break
            start = f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}:00Z"
            status, _ = await rig.call(
                "POST",
                "/v2/bookings",
                json={
                    "eventTypeId": EVENT_TYPE,
                    "start": start,
                    "lengthInMinutes": 15,
                    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "UTC"},
                },
            )
            assert status == 201
            made += 1
        day += datetime.timedelta(days=3 if day.weekday() == 4 else 1)
    last = await rig.run("create_booking", booking(f"{day.isoformat()}T09:00:00Z"), "c" * 64)
    found = await rig.adapter.reconcile(
        "create_booking", booking(at(MONDAY, "09:00")), attempt(marker="c" * 64)
    )
    assert found.found
    assert found.result is not None
    assert found.result["uid"] == last["uid"]
    status, listed = await rig.call("GET", "/v2/bookings", params={"take": "1"})
    assert listed["pagination"]["totalItems"] == 106
    assert rig.sandbox.received("acme")[-1]["uid"] == last["uid"]
    assert len(rig.events()) == 100  # what it acted on: the newest kept


async def test_the_list_filters_sorts_and_pages_as_cal_com_does(rig: Rig) -> None:
    ada_monday = await rig.run("create_booking", booking(at(MONDAY, "09:00")))
    ada_tuesday = await rig.run("create_booking", booking(at(TUESDAY, "09:00")))
    bo = await rig.run("create_booking", booking(at(MONDAY, "10:00"), email="bo@example.com"))
    other_type = await rig.run(
        "create_booking",
        booking(at(MONDAY, "11:00")).model_copy(update={"eventTypeId": EVENT_TYPE + 1}),
    )
    await rig.run("cancel_booking", CancelBooking(bookingUid=ada_tuesday["uid"]))

    async def uids(**params: str) -> list[str]:
        status, body = await rig.call("GET", "/v2/bookings", params=params)
        assert (status, body["status"]) == (200, "success")
        return [b["uid"] for b in body["data"]]

    assert await uids(attendeeEmail="ADA@example.com", eventTypeId=str(EVENT_TYPE)) == [
        ada_monday["uid"],
        ada_tuesday["uid"],
    ]
    assert await uids(afterStart=at(MONDAY, "09:30"), sortStart="desc") == [
        ada_tuesday["uid"],
        other_type["uid"],
        bo["uid"],
    ]
    assert await uids(beforeEnd=at(MONDAY, "10:30")) == [ada_monday["uid"], bo["uid"]]
    assert await uids(status="cancelled") == [ada_tuesday["uid"]]
    assert await uids(eventTypeIds=f"{EVENT_TYPE + 1}") == [other_type["uid"]]
    assert await uids(take="2", skip="2") == [other_type["uid"], ada_tuesday["uid"]]
    status, page = await rig.call("GET", "/v2/bookings", params={"take": "3"})
    assert page["pagination"] == {
        "totalItems": 4,
        "remainingItems": 1,
        "returnedItems": 3,
        "itemsPerPage": 3,
        "currentPage": 1,
        "totalPages": 2,
        "hasNextPage": True,
        "hasPreviousPage": False,
    }
    for params, named in (({"take": "101"}, "take"), ({"color": "red"}, "property color")):
        status, body = await rig.call("GET", "/v2/bookings", params=params)
        assert (status, body["error"]["code"]) == (400, "BadRequestException")
        assert named in body["error"]["message"]


async def test_each_family_takes_its_own_cal_api_version(rig: Rig) -> None:
    slots = {"eventTypeId": str(EVENT_TYPE), "start": MONDAY.isoformat(), "end": MONDAY.isoformat()}
    assert (await rig.call("GET", "/v2/slots", version="2024-09-04", params=slots))[0] == 200
    for version in (None, "2024-08-13"):
        status, body = await rig.call("GET", "/v2/slots", version=version, params=slots)
        assert (status, body["status"], body["error"]["code"]) == (
            400,
            "error",
            "BadRequestException",
        )
        assert "2024-09-04" in body["error"]["message"]
    new = {
        "eventTypeId": EVENT_TYPE,
        "start": at(MONDAY, "09:00"),
        "attendee": {"name": "A", "email": "a@example.com", "timeZone": "UTC"},
    }
    for version in (None, "2024-09-04", "2024-04-15"):
        status, body = await rig.call("POST", "/v2/bookings", version=version, json=new)
        assert status == 400
        assert "2024-08-13" in body["error"]["message"]
    assert rig.sandbox.received("acme") == []
    assert (await rig.call("GET", "/v2/me", version=None))[0] == 200

    older = rig.sandbox.account_for("acme").model_copy(
        update={"bookings_api_version": "2024-04-15"}
    )
    adapter = CalAdapter(older)
    try:
        with pytest.raises(VendorRejected) as refused:
            await adapter.execute("get_booking", GetBooking(bookingUid="x"), attempt())
        assert refused.value.metadata["vendor_code"] == "BadRequestException"
    finally:
        await adapter.shutdown()


async def test_a_property_cal_com_does_not_know_is_refused_naming_it(rig: Rig) -> None:
    status, body = await rig.call(
        "POST",
        "/v2/bookings",
        json={
            "eventTypeId": EVENT_TYPE,
            "start": at(MONDAY, "09:00"),
            "attendee": {"name": "A", "email": "a@example.com", "timeZone": "UTC"},
            "location": "somewhere",
        },
    )
    assert (status, body["error"]["code"]) == (400, "BadRequestException")
    assert body["error"]["message"] == "property location should not exist"
    assert body["path"] == "/v2/bookings"
    assert rig.sandbox.received("acme") == []


async def test_the_probe_reads_me_and_a_key_the_sandbox_never_issued_is_refused(rig: Rig) -> None:
    probe = await rig.adapter.health_check()
    assert probe.ok
    stranger = CalAdapter(CalAccount(base_url=rig.sandbox.base_url, api_key="cal_test_guessed"))
    try:
        refused = await stranger.health_check()
        assert not refused.ok
        assert isinstance(refused.error, VendorAuthFailed)
        assert refused.error.metadata["vendor_code"] == "UnauthorizedException"
        with pytest.raises(VendorAuthFailed):
            await stranger.execute(
                "create_booking", booking(at(MONDAY, "09:00")), attempt(marker="a" * 64)
            )
    finally:
        await stranger.shutdown()
    assert rig.sandbox.received("acme") == []


async def test_each_tenant_has_its_own_bookings_and_calendar(rig: Rig) -> None:
    made = await rig.run("create_booking", booking(at(MONDAY, "09:00")))
    status, body = await rig.call("GET", f"/v2/bookings/{made['uid']}", tenant="globex")
    assert (status, body["error"]["code"]) == (404, "NotFoundException")
    status, body = await rig.call(
        "GET",
        "/v2/slots",
        version="2024-09-04",
        params={
            "eventTypeId": str(EVENT_TYPE),
            "start": at(MONDAY, "09:00"),
            "end": at(MONDAY, "09:00"),
            "format": "range",
        },
        tenant="globex",
    )
    assert body["data"] == {
        MONDAY.isoformat(): [{"start": cal_at(MONDAY, "09:00"), "end": cal_at(MONDAY, "09:30")}]
    }
    assert rig.sandbox.received("globex") == []


async def test_every_booking_answer_has_the_shape_of_cal_coms_description(rig: Rig) -> None:
    schema = VendorSchema.load(CAL_SPEC)

    async def checked(method: str, path: str, **more: Any) -> dict[str, Any]:
        status, body = await rig.call(method, path, **more)
        assert status < 300, body
        assert answer_problems(schema, method, path, status, body) == [], (method, path, body)
        return body

    attendee = {"name": "A", "email": "a@example.com", "timeZone": "UTC", "language": "ar"}
    made = await checked(
        "POST",
        "/v2/bookings",
        json={
            "eventTypeId": EVENT_TYPE,
            "start": at(MONDAY, "09:00"),
            "attendee": attendee,
            "guests": ["g@example.com"],
            "metadata": {"k": "v"},
            "bookingFieldsResponses": {"notes": "hi"},
        },
    )
    uid = made["data"]["uid"]
    await checked("GET", f"/v2/bookings/{uid}")
    await checked("GET", "/v2/bookings", params={"attendeeEmail": "a@example.com"})
    moved = await checked(
        "POST",
        f"/v2/bookings/{uid}/reschedule",
        json={"start": at(MONDAY, "10:00"), "reschedulingReason": "r"},
    )
    await checked(
        "POST", f"/v2/bookings/{moved['data']['uid']}/cancel", json={"cancellationReason": "c"}
    )
    await checked("GET", "/v2/bookings", params={"status": "cancelled"})


@faulty(status=503, at="POST /v2/bookings", times=1)
async def test_a_status_fault_books_nothing_and_a_resend_books_once(rig: Rig) -> None:
    assert await rig.slot_starts(MONDAY)  # a GET is not covered
    payload = booking(at(MONDAY, "09:00"))
    with pytest.raises(VendorUnavailable) as failed:
        await rig.run("create_booking", payload, marker="a" * 64)
    assert (failed.value.metadata["vendor_status"], failed.value.metadata["vendor_code"]) == (
        "503",
        "ServiceUnavailableException",
    )
    assert rig.sandbox.received("acme") == []
    made = await rig.run("create_booking", payload, marker="a" * 64)
    assert made["status"] == "accepted"
    assert rig.events() == ["BOOKING_CREATED"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, VendorRejected),
        (401, VendorAuthFailed),
        (429, VendorRateLimited),
        (500, VendorError),
    ],
)
async def test_each_injected_status_maps_as_cal_coms_own_would(
    status: int, error: type[GatewayError]
) -> None:
    async with serving(CalSandbox(SandboxFault(status=status, at="/v2/bookings"))) as sandbox:
        adapter = CalAdapter(sandbox.account_for("acme"))
        try:
            with pytest.raises(error) as raised:
                await adapter.execute("get_booking", GetBooking(bookingUid="x"), attempt())
            assert raised.value.metadata["vendor_status"] == str(status)
            assert raised.value.metadata["vendor_code"].endswith("Exception")
        finally:
            await adapter.shutdown()
