"""The cal connector end to end: each operation through the real gateway (class B through a
person's approval) to Prism serving Cal.com's published description, every request the vendor
received checked against that description with unknown properties refused; the undo at most
once; payloads that break the model never reach the vendor; the API key nowhere."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.markers import action_marker
from tests.adapters.cal.examples import BOOKING_UID, VALID
from tests.adapters.cal.fake_cal import API_KEY
from tests.adapters.cal.rig import CalRig, execute, faithful, prism_rig
from tests.integration.reasons.observe import AGENT, refused_rpc
from tests.support.prism import PrismServers

pytestmark = pytest.mark.timeout(120)

PRISM_UID = "booking_uid_123"  # the uid in Cal.com's own example booking


@pytest.fixture
async def rig(tmp_path: Path, prism: PrismServers) -> AsyncIterator[CalRig]:
    async with prism_rig(tmp_path, prism) as rig:
        yield rig


def sent_headers(rig: CalRig, version: str) -> None:
    for request in rig.vendor.requests:
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert request.headers["cal-api-version"] == version
        assert request.headers["traceparent"]
        faithful().check(request)


async def test_the_connector_is_described_as_built(rig: CalRig) -> None:
    described = await rig.gw.stub.DescribeConnector(
        pb.DescribeConnectorRequest(connector_key="cal"), metadata=AGENT, timeout=10
    )
    connector = described.connector
    assert (connector.version, connector.registered, connector.configured) == ("1.0.0", True, True)
    assert [op.name for op in connector.operations] == [
        "cancel_booking",
        "create_booking",
        "get_booking",
        "get_slots",
        "reschedule_booking",
    ]


async def test_get_slots(rig: CalRig) -> None:
    payload = VALID["get_slots"] | {"start": "2025-09-05T12:00:00+03:00"}
    answer = await rig.run(execute("get_slots", payload))
    # Prism answers with the description's example, which has starts only.
    assert json_format.MessageToDict(answer.result) == {
        "slots": [
            {"start": "2050-09-05T09:00:00.000+02:00"},
            {"start": "2050-09-05T10:00:00.000+02:00"},
            {"start": "2050-09-06T09:00:00.000+02:00"},
            {"start": "2050-09-06T10:00:00.000+02:00"},
        ],
        "timeZone": "Asia/Riyadh",
    }
    [request] = rig.vendor.requests
    assert (request.method, request.path) == ("GET", "/v2/slots")
    assert request.query == {
        "eventTypeId": ["100"],
        "start": ["2025-09-05T09:00:00Z"],
        "end": ["2025-09-06T18:00:00Z"],
        "format": ["range"],
        "timeZone": ["Asia/Riyadh"],
        "duration": ["30"],
    }
    sent_headers(rig, "2024-09-04")
    assert rig.outcomes() == [("slots_read", "succeeded", "")]


async def test_get_booking(rig: CalRig) -> None:
    answer = await rig.run(execute("get_booking", VALID["get_booking"]))
    assert (answer.result["uid"], answer.result["status"]) == (PRISM_UID, "cancelled")
    assert answer.result["attendees"][0]["email"] == "john.doe@example.com"
    [request] = rig.vendor.requests
    assert (request.method, request.path, request.body) == (
        "GET",
        f"/v2/bookings/{BOOKING_UID}",
        b"",
    )
    sent_headers(rig, "2024-08-13")
    assert rig.outcomes() == [("booking_read", "succeeded", "")]


async def test_create_booking_after_approval_carries_the_marker(rig: CalRig) -> None:
    request = await rig.approved(execute("create_booking", VALID["create_booking"], key="b-1"))
    assert rig.vendor.requests == []  # nothing reached Cal.com before the approval
    made = await rig.run(request)
    again = await rig.run(request)
    assert (made.replayed, again.replayed) == (False, True)
    assert made.result["uid"] == again.result["uid"] == PRISM_UID
    [sent] = rig.vendor.requests
    assert (sent.method, sent.path) == ("POST", "/v2/bookings")
    marker = action_marker("default", "local-agent", "cal", "create_booking", "b-1")
    assert sent.json() == {
        "eventTypeId": 123,
        "start": "2025-09-05T09:00:00Z",
        "attendee": {
            "name": "Sara Ali",
            "email": "sara@example.com",
            "timeZone": "Asia/Riyadh",
            "phoneNumber": "+966501234567",
        },
        "lengthInMinutes": 30,
        "guests": ["guest@example.com"],
        "bookingFieldsResponses": {"notes": "Bring the contract", "agree": True},
        "metadata": {"order_id": "1001", "gateway_marker": marker},
    }
    assert "b-1" not in sent.body.decode()  # the agent's own key never reaches the vendor
    sent_headers(rig, "2024-08-13")
    assert rig.outcomes() == [
        ("approval_requested", "refused", "APPROVAL_REQUIRED"),
        ("approval_granted", "succeeded", ""),
        ("booking_created", "succeeded", ""),
        ("execution_replayed", "succeeded", ""),
    ]


async def test_cancel_booking_after_approval(rig: CalRig) -> None:
    request = await rig.approved(execute("cancel_booking", VALID["cancel_booking"], key="c-1"))
    answer = await rig.run(request)
    assert answer.result["uid"] == PRISM_UID
    [sent] = rig.vendor.requests
    assert (sent.method, sent.path) == ("POST", f"/v2/bookings/{BOOKING_UID}/cancel")
    assert sent.json() == {"cancellationReason": "Ill"}
    sent_headers(rig, "2024-08-13")
    assert rig.outcomes()[-1] == ("booking_canceled", "succeeded", "")


async def test_reschedule_booking_after_approval(rig: CalRig) -> None:
    payload = VALID["reschedule_booking"] | {"start": "2025-09-06T13:00:00+03:00"}
    request = await rig.approved(execute("reschedule_booking", payload, key="r-1"))
    answer = await rig.run(request)
    assert answer.result["rescheduledFromUid"] == "previous_uid_123"
    [sent] = rig.vendor.requests
    assert (sent.method, sent.path) == ("POST", f"/v2/bookings/{BOOKING_UID}/reschedule")
    assert sent.json() == {
        "start": "2025-09-06T10:00:00Z",
        "reschedulingReason": "Clash",
        "rescheduledBy": "owner@example.com",
    }
    sent_headers(rig, "2024-08-13")
    assert rig.outcomes()[-1] == ("booking_rescheduled", "succeeded", "")


async def test_a_booking_is_undone_once_by_canceling_it(rig: CalRig) -> None:
    request = await rig.approved(execute("create_booking", VALID["create_booking"], key="b-2"))
    made = await rig.run(request)
    undone = await rig.compensate(made.execution_id, key="undo-1")
    again = await rig.gw.stub.Compensate(
        pb.CompensateRequest(
            execution_id=made.execution_id, reason="asked twice", idempotency_key="undo-2"
        ),
        metadata=AGENT,
        timeout=20,
    )
    assert (undone.replayed, again.replayed) == (False, True)
    assert undone.compensating_operation == again.compensating_operation == "cancel_booking"
    assert undone.result == again.result
    cancels = rig.vendor.matching("POST", "/cancel")
    assert [r.path for r in cancels] == [f"/v2/bookings/{PRISM_UID}/cancel"]
    assert cancels[0].json() == {
        "cancellationReason": "The booking was withdrawn by the organizer."
    }
    sent_headers(rig, "2024-08-13")
    events = [event for event, _, _ in rig.outcomes()]
    assert events.count("workflow_compensated") == 1
    assert events[-1] == "execution_replayed"


@pytest.mark.parametrize("operation", ["reschedule_booking", "cancel_booking"])
async def test_a_reschedule_or_a_cancellation_cannot_be_undone(rig: CalRig, operation: str) -> None:
    request = await rig.approved(execute(operation, VALID[operation], key=f"{operation}-1"))
    done = await rig.run(request)
    undo = pb.CompensateRequest(execution_id=done.execution_id, reason="r", idempotency_key="u")
    seen = await refused_rpc(rig.gw.stub.Compensate(undo, metadata=AGENT, timeout=20), rig.gw)
    assert (seen.code, seen.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_COMPENSABLE")
    assert len(rig.vendor.requests) == 1


BROKEN = [
    ("get_slots", VALID["get_slots"] | {"start": "2025-09-05T09:00:00"}, "payload.start"),
    ("get_slots", VALID["get_slots"] | {"timeZone": "Asia/Atlantis"}, "payload.timeZone"),
    ("get_booking", {"bookingUid": "a/../me"}, "payload.bookingUid"),
    (
        "create_booking",
        VALID["create_booking"] | {"metadata": {"gateway_marker": "forged"}},
        "payload.metadata",
    ),
    (
        "create_booking",
        VALID["create_booking"] | {"attendee": {"name": "Sara", "timeZone": "UTC"}},
        "payload.attendee.email",
    ),
    ("create_booking", VALID["create_booking"] | {"eventTypeSlug": "intro"}, "payload"),
    ("reschedule_booking", VALID["reschedule_booking"] | {"start": "tomorrow"}, "payload.start"),
    ("cancel_booking", {"bookingUid": BOOKING_UID, "seatUid": "x"}, "payload"),
]


@pytest.mark.parametrize(("operation", "payload", "field"), BROKEN)
async def test_a_payload_that_breaks_the_model_never_reaches_cal_com(
    rig: CalRig, operation: str, payload: dict[str, object], field: str
) -> None:
    seen = await rig.refused(execute(operation, payload, key="k-bad"))
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
    assert any(name.startswith(field) for name in seen.fields), seen.fields
    assert rig.vendor.requests == []


def database_texts(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [str(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')]


async def test_the_api_key_appears_in_no_audit_row_log_or_error(
    rig: CalRig, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("gateway", "adapters"):
        caplog.set_level(logging.DEBUG, logger=name)
    assert rig.prefer is not None
    seen_texts: list[str] = []
    await rig.run(execute("get_booking", VALID["get_booking"]))
    for code in (400, 401, 500):
        rig.prefer.code = code
        refused = await rig.refused(execute("get_booking", VALID["get_booking"]))
        seen_texts += [refused.message, json.dumps(refused.metadata)]
    rig.prefer.code = None
    request = await rig.approved(execute("create_booking", VALID["create_booking"], key="b-3"))
    await rig.run(request)
    health = await rig.gw.stub.Health(pb.HealthRequest(connector_key="cal"), metadata=AGENT)
    seen_texts.append(str(health))
    assert all(r.headers["Authorization"] == f"Bearer {API_KEY}" for r in rig.vendor.requests)
    texts = [
        *seen_texts,
        *database_texts(rig.gw.gateway.settings.database_path),
        caplog.text,
        *(
            f"{span.name} {dict(span.attributes or {})}"
            for span in rig.gw.spans.get_finished_spans()
        ),
    ]
    assert [text[:200] for text in texts if API_KEY in text] == []
    assert [text[:200] for text in texts if API_KEY.removeprefix("cal_live_") in text] == []
