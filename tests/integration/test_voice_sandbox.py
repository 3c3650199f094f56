"""Twilio Voice without a Twilio account: on a fresh data directory the gateway runs the voice
connector's real adapter against the in-process Twilio sandbox, through approvals and the
undo, marked sandbox everywhere; configuring an account takes it to Twilio."""

from __future__ import annotations

import json
from pathlib import Path

import grpc

from adapters.voice.sandbox_calls import ANSWERS
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
from tests.integration.sandbox_calls import Connector
from tests.integration.voice_rig import PLACE, execute, voice_account
from tests.support.gateway import gateway_settings, running_gateway

PLACE_AS_A = {"allow_loosening": True, "overrides": {"voice.place_call": "A"}}


async def test_on_a_fresh_data_directory_a_call_is_placed_read_and_undone_at_the_sandbox(
    tmp_path: Path,
) -> None:
    # No configuration at all, but the start-up probe (the first runs as the gateway starts).
    async with running_gateway(gateway_settings(tmp_path, health={"probe_interval_s": 3600})) as gw:
        voice = Connector(gw, "voice")
        assert (await voice.ok()).sandbox
        described = await voice.described()
        assert (described.configured, described.sandbox) == (True, True)

        # place_call asks for an approval, is approved by the operator, and runs once.
        place = await approved(gw, execute("place_call", PLACE | {"To": ANSWERS}, "call-1"))
        placed = await gw.stub.Execute(place, metadata=AGENT, timeout=10)
        again = await gw.stub.Execute(place, metadata=AGENT, timeout=10)
        assert (placed.attempts, placed.replayed, again.replayed) == (1, False, True)
        sid = placed.result["sid"]
        assert placed.result["status"] == "queued"

        # A read runs at once: the callee has picked up.
        read = await gw.stub.Execute(
            execute("get_call", {"CallSid": sid}), metadata=AGENT, timeout=10
        )
        assert read.result["status"] == "in-progress"

        # The undo hangs the answered call up, with its own approval.
        undo = pb.CompensateRequest(
            execution_id=placed.execution_id, reason="wrong number", idempotency_key="undo-1"
        )
        asked = await refused_rpc(gw.stub.Compensate(undo, metadata=AGENT, timeout=10), gw)
        assert asked.reason == "APPROVAL_REQUIRED"
        await approvals(gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=asked.metadata["approval_id"]),
            metadata=OPERATOR,
            timeout=5,
        )
        undo.approval_id = asked.metadata["approval_id"]
        undone = await gw.stub.Compensate(undo, metadata=AGENT, timeout=10)
        assert (undone.result["previous_status"], undone.result["status"]) == (
            "in-progress",
            "completed",
        )

        placed_record, updated_record = await voice.shown()
        assert (placed_record["event"], placed_record["call_sid"], placed_record["to"]) == (
            "call placed",
            sid,
            ANSWERS,
        )
        assert placed_record["StatusCallback"] == PLACE["StatusCallback"]
        assert (updated_record["requested_status"], updated_record["status"]) == (
            "completed",
            "completed",
        )
        rows = [r for r in gw.audit_rows() if r["connector_key"] == "voice"]
        assert {json.loads(str(r["detail"])).get("sandbox") for r in rows} == {"true"}
        assert [r["event_type"] for r in rows] == [
            "approval_requested",
            "approval_granted",
            "execution_requested",
            "call_placed",
            "execution_replayed",
            "execution_requested",
            "call_read",
            "approval_requested",
            "approval_granted",
            "compensation_requested",
            "workflow_compensated",
        ]

        assert (await voice.cli_health())[1:3] == ["ok", "sandbox"]
        lines = await voice.cli_shown()
        assert lines[0] == "the voice sandbox received 2 items, oldest first:"
        assert {f"call_sid: {sid}", "event: call placed", "event: call updated"} <= set(lines)


async def test_a_lost_answer_leaves_an_unknown_call_that_the_sandbox_holds(tmp_path: Path) -> None:
    fail = {"voice": {"drop": True, "at": "POST /2010-04-01/Accounts", "times": 1}}
    settings = gateway_settings(tmp_path, policy=PLACE_AS_A, sandbox={"fail": fail})
    async with running_gateway(settings) as gw:
        voice = Connector(gw, "voice")
        seen = await refused_rpc(
            gw.stub.Execute(execute("place_call", PLACE, "call-1"), metadata=AGENT, timeout=10), gw
        )
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
        [kept] = await voice.shown()  # Twilio has the call: only its answer was lost
        assert (kept["event"], kept["status"]) == ("call placed", "queued")
        # Twilio offers no lookup: the operator settles it, with the sid the sandbox shows.
        lookup = await refused_rpc(
            executions(gw).ReconcileExecution(
                epb.ReconcileExecutionRequest(execution_id=seen.metadata["execution_id"]),
                metadata=OPERATOR,
                timeout=10,
            ),
            gw,
        )
        assert lookup.reason == "VENDOR_LOOKUP_UNAVAILABLE"


async def test_a_temporary_fault_is_retried_through(tmp_path: Path) -> None:
    fail = {"voice": {"status": 503, "at": "POST /2010-04-01/Accounts", "times": 1}}
    settings = gateway_settings(
        tmp_path,
        policy=PLACE_AS_A,
        sandbox={"fail": fail},
        reliability={
            "backoff_scale": 0.001,
            "rate_limits": {"voice": {"per_second": 100, "burst": 100}},
        },
    )
    async with running_gateway(settings) as gw:
        voice = Connector(gw, "voice")
        placed = await gw.stub.Execute(
            execute("place_call", PLACE, "call-1"), metadata=AGENT, timeout=10
        )
        assert placed.attempts == 2  # a 503 has not acted: retried
        assert len(await voice.shown()) == 1


async def test_configuring_a_twilio_account_takes_voice_to_twilio(tmp_path: Path) -> None:
    async with fake_twilio() as twilio:
        settings = gateway_settings(
            tmp_path,
            voice=voice_account(twilio.url),
            policy=PLACE_AS_A,
            health={"probe_interval_s": 3600},
        )
        async with running_gateway(settings) as gw:
            voice = Connector(gw, "voice")
            assert "voice" not in gw.gateway.sandboxes.running
            assert not (await voice.ok()).sandbox  # at the fake Twilio
            placed = await gw.stub.Execute(
                execute("place_call", PLACE, "call-1"), metadata=AGENT, timeout=10
            )
            assert list(twilio.calls) == [placed.result["sid"]]
            not_sandboxed = await voice.not_sandboxed()
            assert not_sandboxed.reason == "NOT_SANDBOXED"
            rows = [r for r in gw.audit_rows() if r["event_type"] == "call_placed"]
            assert [json.loads(str(r["detail"])).get("sandbox") for r in rows] == [None]
