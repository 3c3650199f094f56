"""An operator settles an outcome the gateway could not learn, with `connector-gateway
executions`, and the agent's repeat of the same key sees that finding: a replay of what the
operator read at the vendor, or the action running again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.errors import VendorUnavailable
from tests.support.cli import Ran, run_cli_at
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import Refusal, refusal
from tests.support.smtp_peers import ScriptedSmtpPeer, scripted_smtp_server

# email.send is class B; a local development configuration may try it as class A.
TRY_EMAIL_AS_A = {"allow_loosening": True, "overrides": {"email.send": "A"}}


@dataclass
class Relay:
    """A gateway whose email connector talks to a relay that takes whole messages and, until
    told otherwise, never confirms them."""

    gw: RunningGateway
    smtp: ScriptedSmtpPeer

    def messages_taken(self) -> int:
        return [command.upper() for command in self.smtp.commands].count("DATA")


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    async with scripted_smtp_server(hang_at="end_of_data") as smtp:
        settings = gateway_settings(
            tmp_path,
            email=smtp.settings().model_dump(),
            policy=TRY_EMAIL_AS_A,
            max_call_deadline_ms=1500,  # how long the gateway waits for the relay's answer
        )
        async with running_gateway(settings) as gw:
            yield Relay(gw, smtp)


def send(key: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="email", operation="send", idempotency_key=key)
    request.payload.update({"to": ["ops@example.com"], "subject": "Invoice", "text": "Attached."})
    return request


async def refused(gw: RunningGateway, request: pb.ExecuteRequest) -> Refusal:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, timeout=10)
    return refusal(caught.value)


async def unknown_send(relay: Relay, key: str) -> str:
    """The agent's send whose answer never comes; returns the execution the operator sees."""
    seen = await refused(relay.gw, send(key))
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert relay.messages_taken() == 1
    listed = await run_cli_at(relay.gw, "executions", "list", "--status", "unknown", "--json")
    assert listed.returncode == 0, listed.stderr
    [execution] = json.loads(listed.stdout)
    assert execution["execution_id"] == seen.metadata.get("execution_id"), seen
    assert (execution["status"], execution["idempotency_key"]) == ("EXECUTION_STATUS_UNKNOWN", key)
    return str(execution["execution_id"])


async def resolve(gw: RunningGateway, execution_id: str, *options: str) -> Ran:
    return await run_cli_at(gw, "executions", "resolve", execution_id, *options)


def printed_refusal(ran: Ran) -> dict[str, str]:
    """The reason and metadata lines the CLI printed for a refusal."""
    assert ran.returncode == 1, ran.stdout
    pairs = (line.strip().split(": ", 1) for line in ran.stderr.splitlines()[1:])
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


async def test_resolved_as_sent_the_agents_repeat_replays_the_operators_result(
    relay: Relay,
) -> None:
    gw = relay.gw
    execution_id = await unknown_send(relay, "invoice-1")
    resolved = await resolve(
        gw,
        execution_id,
        "--resolution",
        "succeeded",
        "--note",
        "in the relay's log as queued",
        "--result",
        '{"message_id": "<q1@relay.example>"}',
    )
    assert resolved.returncode == 0, resolved.stderr
    assert resolved.stdout == f"resolved {execution_id}: succeeded\n"

    replay = await gw.stub.Execute(send("invoice-1"), timeout=10)
    assert (replay.replayed, replay.execution_id) == (True, execution_id)
    assert dict(replay.result) == {"message_id": "<q1@relay.example>"}
    assert relay.messages_taken() == 1  # never sent again

    again = printed_refusal(
        await resolve(gw, execution_id, "--resolution", "not-acted", "--note", "second look")
    )
    assert again["reason"] == "EXECUTION_NOT_UNKNOWN"
    assert (again["execution_id"], again["status"]) == (execution_id, "succeeded")

    rows = [r for r in gw.audit_rows() if r["execution_id"] == execution_id]
    assert [(r["event_type"], r["outcome"]) for r in rows] == [
        ("execution_requested", "requested"),
        ("message_failed", "unknown"),
        ("outcome_resolved", "succeeded"),
        ("execution_replayed", "succeeded"),
        ("request_rejected", "refused"),
    ]
    assert json.loads(str(rows[2]["detail"]))["resolution"] == "succeeded"
    assert rows[2]["caller"] == "local-operator"


async def test_resolved_as_not_sent_the_agents_repeat_sends_it(relay: Relay) -> None:
    gw = relay.gw
    execution_id = await unknown_send(relay, "invoice-2")
    relay.smtp.hang_at = None  # from now on the relay confirms what it takes

    # Until an operator settles it, the same key replays the unknown outcome.
    unsettled = await refused(gw, send("invoice-2"))
    assert (unsettled.reason, unsettled.metadata["replayed"]) == ("OUTCOME_UNKNOWN", "true")
    assert relay.messages_taken() == 1

    # A vendor that did not act returned nothing: no result goes with that finding.
    with_result = printed_refusal(
        await resolve(
            gw,
            execution_id,
            "--resolution",
            "not-acted",
            "--note",
            "not in the relay's log",
            "--result",
            '{"message_id": "<x@relay.example>"}',
        )
    )
    assert with_result["reason"] == "INVALID_FIELD"
    assert "field result" in with_result
    resolved = await resolve(
        gw, execution_id, "--resolution", "not-acted", "--note", "not in the relay's log", "--json"
    )
    assert resolved.returncode == 0, resolved.stderr
    execution = json.loads(resolved.stdout)
    assert (execution["execution_id"], execution["status"]) == (
        execution_id,
        "EXECUTION_STATUS_FAILED",
    )
    assert execution["resolution_note"] == "not in the relay's log"

    sent = await gw.stub.Execute(send("invoice-2"), timeout=10)
    assert not sent.replayed
    assert sent.execution_id != execution_id
    assert sent.result["message_id"]
    assert relay.messages_taken() == 2
    [row] = [r for r in gw.audit_rows() if r["event_type"] == "outcome_resolved"]
    assert json.loads(str(row["detail"]))["resolution"] == "not_acted"


async def test_an_action_that_can_be_undone_is_resolved_with_the_vendors_ids(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    fake.failures = [VendorUnavailable("reset after sending", may_have_acted=True)]
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="e1")
    request.payload.update({"text": "hi"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, timeout=5)
    execution_id = refusal(caught.value).metadata["execution_id"]
    succeeded = ("--resolution", "succeeded", "--note", "object 7 exists at the vendor")

    # The undo needs the vendor's ids: without them the finding is refused, naming the field.
    missing = printed_refusal(await resolve(gw, execution_id, *succeeded))
    assert missing["reason"] == "INVALID_FIELD"
    assert "field result.execution_id" in missing
    not_json = await resolve(gw, execution_id, *succeeded, "--result", "object 7")
    assert not_json.returncode == 2
    assert not_json.stderr.startswith("error: --result is not valid JSON")
    not_object = await resolve(gw, execution_id, *succeeded, "--result", '["vendor-obj-7"]')
    assert (not_object.returncode, not_object.stderr) == (
        2,
        "error: --result must be a JSON object\n",
    )

    resolved = await resolve(
        gw, execution_id, *succeeded, "--result", '{"execution_id": "vendor-obj-7"}'
    )
    assert resolved.returncode == 0, resolved.stderr
    shown = await run_cli_at(gw, "executions", "get", execution_id)
    assert json.loads(shown.stdout)["result"] == {"execution_id": "vendor-obj-7"}
    replay = await gw.stub.Execute(request, timeout=5)
    assert (replay.replayed, replay.result["execution_id"]) == (True, "vendor-obj-7")

    # The undo acts on what the operator read at the vendor.
    undo = pb.CompensateRequest(execution_id=execution_id, reason="sent by mistake")
    undo.idempotency_key = "undo-e1"
    await gw.stub.Compensate(undo, timeout=5)
    assert fake.calls[-1] == ("unecho", {"execution_id": "vendor-obj-7"})
    assert len(fake.calls) == 2
