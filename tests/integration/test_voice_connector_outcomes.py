"""What happens after a call was placed: the undo, through a person's approval, reads the
call and sends Twilio the one update its state allows, once; and a call whose answer was lost
stays unknown for an operator, is listed, and is never placed twice."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from tests.adapters.voice.fake_twilio import fake_twilio
from tests.integration.approved import approved
from tests.integration.reasons.observe import (
    AGENT,
    OPERATOR,
    approvals,
    executions,
    refused_rpc,
)
from tests.integration.voice_rig import (
    CALLS,
    PLACE,
    PRISM_CALL_SID,
    TWILIO,
    TWILIO_PRISM,
    Voice,
    execute,
    place_call,
    voice_gateway,
)
from tests.support.cli import run_cli_at
from tests.support.prism import PrismServers
from tests.support.vendor_schema import VendorSchema


async def approved_undo(voice: Voice, execution_id: str, key: str) -> pb.CompensateRequest:
    """A Compensate request with a person's approval (an undo of a class B action is B)."""
    request = pb.CompensateRequest(
        execution_id=execution_id, reason="called the wrong customer", idempotency_key=key
    )
    asked = await refused_rpc(
        voice.gw.stub.Compensate(request, metadata=AGENT, timeout=20), voice.gw
    )
    assert asked.reason == "APPROVAL_REQUIRED", asked
    await approvals(voice.gw).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=asked.metadata["approval_id"], note="yes"),
        metadata=OPERATOR,
        timeout=10,
    )
    request.approval_id = asked.metadata["approval_id"]
    return request


@pytest.mark.parametrize(
    ("state", "sent"),
    [("queued", "canceled"), ("ringing", "canceled"), ("in-progress", "completed")],
)
async def test_the_undo_sends_the_update_the_calls_state_allows_once(
    tmp_path: Path, prism: PrismServers, state: str, sent: str
) -> None:
    """Prism's examples say every call is "completed": a small Twilio answers the status
    read, and Prism everything else."""
    async with (
        fake_twilio(upstream=prism.url(TWILIO_PRISM)) as twilio,
        voice_gateway(tmp_path, twilio.url) as voice,
    ):
        placed = await place_call(voice)
        assert placed.result["sid"] == PRISM_CALL_SID  # Prism created it
        twilio.calls[PRISM_CALL_SID] = state
        undo = await approved_undo(voice, placed.execution_id, "u1")
        undone = await voice.gw.stub.Compensate(undo, metadata=AGENT, timeout=20)
        again = await voice.gw.stub.Compensate(
            pb.CompensateRequest(
                execution_id=placed.execution_id, reason="again", idempotency_key="u1"
            ),
            metadata=AGENT,
            timeout=20,
        )
        other_key = await voice.gw.stub.Compensate(
            pb.CompensateRequest(
                execution_id=placed.execution_id, reason="again", idempotency_key="u2"
            ),
            metadata=AGENT,
            timeout=20,
        )
        rows = voice.gw.audit_rows()
    assert undone.compensating_operation == "cancel_call"
    assert (undone.result["previous_status"], undone.result["requested_status"]) == (state, sent)
    assert (undone.replayed, again.replayed, other_key.replayed) == (False, True, True)
    assert dict(again.result) == dict(other_key.result) == dict(undone.result)
    create, read, update = voice.vendor.requests
    assert (create.method, create.path) == ("POST", f"{CALLS}.json")
    assert (read.method, read.path) == ("GET", f"{CALLS}/{PRISM_CALL_SID}.json")
    assert (update.method, update.path, update.form()) == (
        "POST",
        f"{CALLS}/{PRISM_CALL_SID}.json",
        [("Status", sent)],
    )
    assert voice.vendor.statuses == [201, 200, 200]  # Prism accepted the update
    for request in voice.vendor.requests:
        VendorSchema.load(TWILIO).check(request)
    kinds = [row["event_type"] for row in rows]
    assert kinds.count("compensation_requested") == 1
    assert "workflow_compensated" in kinds


async def test_a_call_that_has_ended_is_not_compensable_and_nothing_is_sent(
    tmp_path: Path,
) -> None:
    async with fake_twilio() as twilio, voice_gateway(tmp_path, twilio.url) as voice:
        placed = await place_call(voice)
        twilio.calls[placed.result["sid"]] = "completed"
        undo = await approved_undo(voice, placed.execution_id, "u1")
        seen = await refused_rpc(
            voice.gw.stub.Compensate(undo, metadata=AGENT, timeout=20), voice.gw
        )
        # Nothing acted, so nothing was stored: a repeat reads the call again.
        again = await refused_rpc(
            voice.gw.stub.Compensate(undo, metadata=AGENT, timeout=20), voice.gw
        )
    assert (seen.code, seen.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_COMPENSABLE")
    assert seen.metadata["operation"] == "place_call"
    assert "had already ended (completed)" in seen.message
    assert again.reason == "NOT_COMPENSABLE"
    assert [r.method for r in voice.vendor.requests] == ["POST", "GET", "GET"]  # no update


async def test_a_lost_answer_stays_unknown_is_listed_and_is_never_placed_twice(
    tmp_path: Path, prism: PrismServers
) -> None:
    async with voice_gateway(tmp_path, prism.url(TWILIO_PRISM)) as voice:
        request = await approved(voice.gw, execute("place_call", PLACE, "lost-1"))
        voice.vendor.drop_after_forwarding()
        first = await refused_rpc(
            voice.gw.stub.Execute(request, metadata=AGENT, timeout=20), voice.gw
        )
        listed = await executions(voice.gw).ListExecutions(
            epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
            metadata=OPERATOR,
            timeout=10,
        )
        cli = await run_cli_at(voice.gw, "executions", "list", "--status", "unknown", "--json")
        # The vendor offers no lookup: an operator finds out at the vendor instead.
        asked = await refused_rpc(
            executions(voice.gw).ReconcileExecution(
                epb.ReconcileExecutionRequest(execution_id=first.metadata["execution_id"]),
                metadata=OPERATOR,
                timeout=10,
            ),
            voice.gw,
        )
        repeat = await refused_rpc(
            voice.gw.stub.Execute(request, metadata=AGENT, timeout=20), voice.gw
        )
        request.approval_id = ""
        without_approval = await refused_rpc(
            voice.gw.stub.Execute(request, metadata=AGENT, timeout=20), voice.gw
        )
    assert (first.code, first.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert first.metadata["cause"] == "VENDOR_UNAVAILABLE"
    execution_id = first.metadata["execution_id"]
    assert [e.execution_id for e in listed.executions] == [execution_id]
    assert listed.executions[0].operation == "place_call"
    assert (asked.reason, asked.metadata["why"]) == ("VENDOR_LOOKUP_UNAVAILABLE", "no_lookup")
    assert cli.returncode == 0, cli.stderr
    [shown] = json.loads(cli.stdout)
    assert (shown["execution_id"], shown["idempotency_key"]) == (execution_id, "lost-1")
    for again in (repeat, without_approval):
        assert (again.reason, again.metadata["replayed"]) == ("OUTCOME_UNKNOWN", "true")
        assert again.metadata["execution_id"] == execution_id
    assert voice.vendor.statuses == [201]  # Twilio placed the call once; nobody heard
    assert len(voice.vendor.matching("POST", "/Calls.json")) == 1
