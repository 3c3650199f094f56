"""Cal.com through the real gateway on a fresh data directory with no configuration at all:
the connector acts at its sandbox, marked sandbox; free slots are read at once, a booking
asks for an approval and is made once, and the operators see it (gRPC and the CLI). A booking
whose answer was lost is found by its marker when the agent repeats the call; an account of
the tenant's own takes the connector to its vendor."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import connector_service_pb2 as pb
from tests.adapters.cal.fake_cal import API_KEY, fake_cal
from tests.integration.reasons.observe import AGENT, OPERATOR, approvals, refused_rpc
from tests.integration.sandbox_calls import Connector
from tests.support.gateway import gateway_settings, running_gateway

pytestmark = pytest.mark.timeout(60)


def _monday() -> datetime.date:
    """A Monday one to two weeks ahead: its whole working day is still to come."""
    today = datetime.datetime.now(datetime.UTC).date()
    return today + datetime.timedelta(days=14 - today.weekday())


MONDAY = _monday().isoformat()
BOOKING = {
    "eventTypeId": 42,
    "start": f"{MONDAY}T12:00:00+03:00",
    "attendee": {"name": "Sara", "email": "sara@example.com", "timeZone": "Asia/Riyadh"},
    "metadata": {"order_id": "1001"},
}


def execute(operation: str, key: str = "", **payload: Any) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="cal", operation=operation, idempotency_key=key)
    request.payload.update(payload)
    return request


async def test_on_a_fresh_data_directory_cal_runs_sandboxed_through_approval(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    async with running_gateway(settings) as gw:
        cal = Connector(gw, "cal")
        health = await cal.ok()  # after the start-up probe
        assert health.sandbox
        described = await cal.described()
        assert (described.configured, described.sandbox) == (True, True)

        # A read runs at once: the host's free slots that day.
        slots = execute("get_slots", eventTypeId=42, start=MONDAY, end=MONDAY)
        free = await gw.stub.Execute(slots, metadata=AGENT, timeout=10)
        starts = [slot["start"] for slot in free.result["slots"]]
        assert (len(starts), starts[0], starts[-1]) == (
            16,
            f"{MONDAY}T09:00:00.000Z",
            f"{MONDAY}T16:30:00.000Z",
        )

        # A booking asks for an approval, is approved by the operator, and is made once.
        book = execute("create_booking", "b-1", **BOOKING)
        asked = await refused_rpc(gw.stub.Execute(book, metadata=AGENT, timeout=10), gw)
        assert asked.reason == "APPROVAL_REQUIRED"
        await approvals(gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=asked.metadata["approval_id"]),
            metadata=OPERATOR,
            timeout=5,
        )
        book.approval_id = asked.metadata["approval_id"]
        made = await gw.stub.Execute(book, metadata=AGENT, timeout=10)
        again = await gw.stub.Execute(book, metadata=AGENT, timeout=10)
        assert (made.attempts, made.replayed, again.replayed) == (1, False, True)
        uid = made.result["uid"]
        assert (made.result["start"], made.result["metadata"]) == (
            f"{MONDAY}T09:00:00.000Z",
            {"order_id": "1001"},
        )
        read = await gw.stub.Execute(
            execute("get_booking", bookingUid=uid), metadata=AGENT, timeout=10
        )
        assert read.result["status"] == "accepted"
        free = await gw.stub.Execute(slots, metadata=AGENT, timeout=10)
        assert f"{MONDAY}T09:00:00.000Z" not in [s["start"] for s in free.result["slots"]]

        [booked] = await cal.shown()
        assert booked == {
            "event": "BOOKING_CREATED",
            "uid": uid,
            "eventTypeId": 42.0,
            "start": f"{MONDAY}T09:00:00.000Z",
            "end": f"{MONDAY}T09:30:00.000Z",
            "attendee": "sara@example.com",
        }
        rows = [r for r in gw.audit_rows() if r["connector_key"] == "cal"]
        assert "booking_created" in [r["event_type"] for r in rows]
        assert {json.loads(r["detail"]).get("sandbox") for r in rows} == {"true"}

        lines = await cal.cli_shown()
        assert lines[0] == "the cal sandbox received 1 item, oldest first:"
        assert {"event: BOOKING_CREATED", f"uid: {uid}", "eventTypeId: 42"} <= set(lines)
        assert "attendee: sara@example.com" in lines


async def test_a_booking_whose_answer_was_lost_is_found_by_its_marker(tmp_path: Path) -> None:
    settings = gateway_settings(
        tmp_path,
        policy={"allow_loosening": True, "overrides": {"cal.create_booking": "A"}},
        sandbox={"fail": {"cal": {"drop": True, "at": "POST /v2/bookings", "times": 1}}},
    )
    async with running_gateway(settings) as gw:
        cal = Connector(gw, "cal")
        book = execute("create_booking", "b-1", **BOOKING)
        lost = await refused_rpc(gw.stub.Execute(book, metadata=AGENT, timeout=10), gw)
        assert (lost.code, lost.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
        [made] = await cal.shown()  # the sandbox booked; the gateway never heard

        found = await gw.stub.Execute(book, metadata=AGENT, timeout=10)
        assert found.replayed
        assert (found.execution_id, found.result["uid"]) == (
            lost.metadata["execution_id"],
            made["uid"],
        )
        assert found.result["metadata"] == {"order_id": "1001"}
        assert await cal.shown() == [made]  # no second booking
        events = [r["event_type"] for r in gw.audit_rows() if r["connector_key"] == "cal"]
        assert events[-1] == "execution_reconciled"


async def test_an_account_of_its_own_takes_cal_to_its_vendor(tmp_path: Path) -> None:
    async with fake_cal() as cal:
        settings = gateway_settings(
            tmp_path,
            policy={"allow_loosening": True, "overrides": {"cal.create_booking": "A"}},
            cal={"api_key": API_KEY, "base_url": cal.url},
        )
        async with running_gateway(settings) as gw:
            connector = Connector(gw, "cal")
            assert "cal" not in gw.gateway.sandboxes.running
            described = await connector.described()
            assert (described.configured, described.sandbox) == (True, False)
            assert (await connector.health()).sandbox is False
            made = await gw.stub.Execute(
                execute("create_booking", "b-1", **BOOKING), metadata=AGENT, timeout=10
            )
            assert list(cal.bookings) == [made.result["uid"]]
            seen = await connector.not_sandboxed()
            assert (seen.reason, seen.metadata) == ("NOT_SANDBOXED", {"connector_key": "cal"})
            rows = [r for r in gw.audit_rows() if r["event_type"] == "booking_created"]
            assert [json.loads(r["detail"]).get("sandbox") for r in rows] == [None]
