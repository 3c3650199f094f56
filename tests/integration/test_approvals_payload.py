"""Operators approve the exact payload: they see it in full over gRPC and the CLI, while the
requesting agent and the audit trail see only the copy redacted by its data classification."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from tests.support.cli import run_cli
from tests.support.gateway import gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.support.smtp_peers import SmtpPeer

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)
OUTSIDE = "ceo@rival.example"


def send_request(approval_id: str = "") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key="email", operation="send", idempotency_key="mail-1", approval_id=approval_id
    )
    request.payload.update(
        {"to": [OUTSIDE], "subject": "Merger terms", "text": "Our offer, before the board sees it."}
    )
    return request


async def test_operators_see_the_full_payload_agents_and_the_audit_trail_do_not(
    tmp_path: Path, smtp_server: SmtpPeer
) -> None:
    # email.send is class B and its data CONFIDENTIAL: shapes only, for all but operators.
    settings = gateway_settings(tmp_path, email=smtp_server.settings().model_dump())
    async with running_gateway(settings) as gw:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(send_request(), metadata=AGENT, timeout=5)
        approval_id = refusal(caught.value).metadata["approval_id"]
        approvals = apb_grpc.ApprovalServiceStub(gw.channel)

        seen_by_operator = await approvals.GetApproval(
            apb.GetApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=5
        )
        assert seen_by_operator.approval.payload_full
        assert list(seen_by_operator.approval.payload["to"]) == [OUTSIDE]
        assert seen_by_operator.approval.payload["subject"] == "Merger terms"
        listed = await approvals.ListApprovals(
            apb.ListApprovalsRequest(), metadata=OPERATOR, timeout=5
        )
        assert list(listed.approvals[0].payload["to"]) == [OUTSIDE]

        seen_by_agent = await approvals.GetApproval(
            apb.GetApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=5
        )
        assert not seen_by_agent.approval.payload_full
        assert seen_by_agent.approval.payload["to"] == "<list:1>"
        assert seen_by_agent.approval.payload["subject"] == "<string:12>"
        watched = approvals.WatchApproval(
            apb.WatchApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=5
        )
        first = await anext(aiter(watched))
        watched.cancel()
        assert first.approval.payload["to"] == "<list:1>"

        address = ("--address", gw.address)
        got = await run_cli(*address, "approvals", "get", approval_id, data_dir=tmp_path)
        assert got.returncode == 0, got.stderr
        shown = json.loads(got.stdout)
        assert (shown["payload"]["to"], shown["payload_full"]) == ([OUTSIDE], True)
        table = await run_cli(*address, "approvals", "list", data_dir=tmp_path)
        assert table.returncode == 0, table.stderr
        assert "PAYLOAD" in table.stdout
        assert '"subject":"Merger terms"' in table.stdout  # a preview of the full payload
        listing = await run_cli(*address, "approvals", "list", "--json", data_dir=tmp_path)
        assert json.loads(listing.stdout)["approvals"][0]["payload"]["to"] == [OUTSIDE]
        approved = await run_cli(*address, "approvals", "approve", approval_id, data_dir=tmp_path)
        assert approved.returncode == 0, approved.stderr

        sent = await gw.stub.Execute(send_request(approval_id), metadata=AGENT, timeout=10)
        assert sent.attempts == 1
        assert [list(m.rcpt_tos) for m in smtp_server.messages] == [[OUTSIDE]]
        rows = gw.audit_rows()
        assert [r["event_type"] for r in rows] == [
            "approval_requested",
            "approval_granted",
            "execution_requested",
            "message_sent",
        ]
        for row in rows:  # only the redacted copy, never the address or the subject
            assert "rival.example" not in json.dumps(row)
            assert "Merger terms" not in json.dumps(row)
        assert json.loads(rows[0]["payload_redacted"])["to"] == "<list:1>"
