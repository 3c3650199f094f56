"""Unknown outcomes of the cal connector, against a Cal.com fake that keeps its bookings.

A booking whose answer was lost (the connection dropped after Cal.com had the request) is
found again when the agent repeats the call with its key: the gateway looks the booking up by
the marker in its metadata and answers with it, without a second booking. A booking Cal.com
never made is made once on the repeat. What cannot be looked up stays unknown and is listed
for operators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import execution_service_pb2 as epb
from gateway.markers import action_marker
from tests.adapters.cal.examples import VALID
from tests.adapters.cal.fake_cal import FakeCal, fake_cal
from tests.adapters.cal.rig import CalRig, execute, faithful, recorded_rig
from tests.integration.reasons.observe import OPERATOR, executions
from tests.support.cli import run_cli_at

pytestmark = pytest.mark.timeout(60)

BOOKING = VALID["create_booking"]
MARKER = action_marker("default", "local-agent", "cal", "create_booking", "b-1")


@pytest.fixture
async def cal() -> AsyncIterator[FakeCal]:
    async with fake_cal() as vendor:
        yield vendor


@pytest.fixture
async def rig(tmp_path: Path, cal: FakeCal) -> AsyncIterator[CalRig]:
    async with recorded_rig(tmp_path, cal.url) as rig:
        yield rig


async def unknown_executions(rig: CalRig) -> list[tuple[str, str]]:
    listed = await executions(rig.gw).ListExecutions(
        epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
        metadata=OPERATOR,
        timeout=10,
    )
    return [(e.execution_id, e.operation) for e in listed.executions]


async def test_a_booking_whose_answer_was_lost_is_found_by_its_marker(
    rig: CalRig, cal: FakeCal
) -> None:
    request = await rig.approved(execute("create_booking", BOOKING, key="b-1"))
    rig.vendor.drop_after_forwarding()
    lost = await rig.refused(request)
    assert (lost.code, lost.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    [booked] = cal.bookings.values()  # Cal.com booked; the gateway never heard
    assert booked["metadata"]["gateway_marker"] == MARKER
    execution_id = lost.metadata["execution_id"]
    assert await unknown_executions(rig) == [(execution_id, "create_booking")]

    # The agent repeats the call with its key: the gateway asks Cal.com instead of booking.
    found = await rig.run(request)
    assert found.replayed
    assert (found.execution_id, found.result["uid"]) == (execution_id, booked["uid"])
    assert found.result["metadata"] == {"order_id": "1001"}
    assert len(cal.bookings) == 1
    lookup = rig.vendor.requests[-1]
    assert (lookup.method, lookup.path) == ("GET", "/v2/bookings")
    assert lookup.query["attendeeEmail"] == ["sara@example.com"]
    for sent in rig.vendor.requests:
        faithful().check(sent)
    assert await unknown_executions(rig) == []
    assert rig.outcomes()[-2:] == [
        ("booking_failed", "unknown", "OUTCOME_UNKNOWN"),
        ("execution_reconciled", "succeeded", ""),
    ]

    # From now on the found booking is the stored answer; Cal.com is not asked again.
    again = await rig.run(request)
    assert (again.replayed, again.result["uid"]) == (True, booked["uid"])
    assert [(r.method, r.path) for r in rig.vendor.requests] == [
        ("POST", "/v2/bookings"),
        ("GET", "/v2/bookings"),
    ]


async def test_a_booking_cal_com_never_made_is_made_once_on_the_repeat(
    rig: CalRig, cal: FakeCal
) -> None:
    request = await rig.approved(execute("create_booking", BOOKING, key="b-1"))
    cal.failing_creates.append(502)  # a proxy failed: Cal.com may or may not have it
    lost = await rig.refused(request)
    assert (lost.reason, lost.metadata["vendor_status"]) == ("OUTCOME_UNKNOWN", "502")
    assert cal.bookings == {}

    made = await rig.run(request)  # looked up, not found: booked now
    assert not made.replayed
    assert made.execution_id == lost.metadata["execution_id"]
    [booked] = cal.bookings.values()
    assert made.result["uid"] == booked["uid"]
    assert booked["metadata"]["gateway_marker"] == MARKER  # the same marker as the first send
    assert [(r.method, r.path) for r in rig.vendor.requests] == [
        ("POST", "/v2/bookings"),
        ("GET", "/v2/bookings"),
        ("POST", "/v2/bookings"),
    ]
    assert rig.outcomes()[-1] == ("booking_created", "succeeded", "")


async def test_an_operator_settles_lost_bookings_from_cal_coms_answer(
    rig: CalRig, cal: FakeCal
) -> None:
    booked = await rig.approved(execute("create_booking", BOOKING, key="b-1"))
    rig.vendor.drop_after_forwarding()
    acted = (await rig.refused(booked)).metadata["execution_id"]
    other = BOOKING | {"start": "2025-09-06T12:00:00+03:00"}
    never = await rig.approved(execute("create_booking", other, key="b-2"))
    cal.failing_creates.append(502)
    never_acted = (await rig.refused(never)).metadata["execution_id"]
    assert len(await unknown_executions(rig)) == 2

    ran = await run_cli_at(rig.gw, "executions", "reconcile", "--connector", "cal")
    assert ran.returncode == 0, ran
    assert f"{acted}: succeeded (the vendor acted)" in ran.stdout
    assert f"{never_acted}: failed (the vendor did not act)" in ran.stdout
    assert await unknown_executions(rig) == []
    [made] = cal.bookings.values()
    settled = await executions(rig.gw).GetExecution(
        epb.GetExecutionRequest(execution_id=acted), metadata=OPERATOR, timeout=10
    )
    assert settled.execution.result["uid"] == made["uid"]
    # The agent's repeat replays what Cal.com holds: nothing is booked again.
    again = await rig.run(booked)
    assert (again.replayed, again.result["uid"]) == (True, made["uid"])
    assert len(cal.bookings) == 1
    assert [(r.method, r.path) for r in rig.vendor.requests] == [
        ("POST", "/v2/bookings"),
        ("POST", "/v2/bookings"),
        ("GET", "/v2/bookings"),
        ("GET", "/v2/bookings"),
    ]


async def test_a_lookup_that_fails_leaves_the_outcome_unknown(rig: CalRig, cal: FakeCal) -> None:
    request = await rig.approved(execute("create_booking", BOOKING, key="b-1"))
    rig.vendor.drop_after_forwarding()
    await rig.refused(request)
    cal.list_status = 500
    still = await rig.refused(request)
    assert (still.reason, still.metadata["replayed"]) == ("OUTCOME_UNKNOWN", "true")
    assert len(cal.bookings) == 1
    assert len(await unknown_executions(rig)) == 1


async def test_a_lost_reschedule_stays_unknown_and_listed(rig: CalRig, cal: FakeCal) -> None:
    original = cal.add(event_type_id=123, start="2025-09-05T09:00:00Z", email="sara@example.com")
    payload = VALID["reschedule_booking"] | {"bookingUid": original["uid"]}
    request = await rig.approved(execute("reschedule_booking", payload, key="r-1"))
    rig.vendor.drop_after_forwarding()
    lost = await rig.refused(request)
    assert lost.reason == "OUTCOME_UNKNOWN"
    again = await rig.refused(request)  # Cal.com cannot be asked: no second reschedule
    assert (again.reason, again.metadata["replayed"]) == ("OUTCOME_UNKNOWN", "true")
    assert len(cal.bookings) == 2  # the original (now cancelled) and the one it moved to
    assert [r.path for r in rig.vendor.requests] == [f"/v2/bookings/{original['uid']}/reschedule"]
    assert await unknown_executions(rig) == [(lost.metadata["execution_id"], "reschedule_booking")]
