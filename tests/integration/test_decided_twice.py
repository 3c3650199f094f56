"""An approval is decided once: a second decision, over gRPC or HTTP, is refused
APPROVAL_NOT_PENDING with the status it already has, audited, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import grpc

from connectorgateway.v1 import approval_service_pb2 as apb
from tests.integration.reasons.observe import (
    AGENT,
    OPERATOR,
    approval_asked,
    approvals,
    fake_rig,
    granted,
    guarded,
    refused_http,
    refused_rpc,
)
from tests.support import http
from tests.support.gateway import RunningGateway


async def current(gw: RunningGateway, approval_id: str) -> apb.Approval:
    got = await approvals(gw).GetApproval(
        apb.GetApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=10
    )
    return got.approval


async def test_deciding_an_approval_again_over_grpc_is_refused(tmp_path: Path) -> None:
    async with fake_rig(tmp_path) as (gw, fake):
        approval_id = await granted(gw, guarded("k1"))
        before = await current(gw, approval_id)
        for decision in (
            approvals(gw).ApproveApproval(
                apb.ApproveApprovalRequest(approval_id=approval_id, note="again"),
                metadata=OPERATOR,
                timeout=10,
            ),
            approvals(gw).DenyApproval(
                apb.DenyApprovalRequest(approval_id=approval_id, reason="changed my mind"),
                metadata=OPERATOR,
                timeout=10,
            ),
        ):
            seen = await refused_rpc(decision, gw)
            assert (seen.code, seen.reason) == (
                grpc.StatusCode.FAILED_PRECONDITION,
                "APPROVAL_NOT_PENDING",
            )
            assert seen.metadata == {"approval_id": approval_id, "status": "granted"}
            row = seen.audit_row()
            assert (row["outcome"], row["caller"]) == ("refused", "local-operator")
            assert approval_id in row["detail"]
        assert await current(gw, approval_id) == before
        # The grant still works, once.
        await gw.stub.Execute(guarded("k1", approval_id=approval_id), metadata=AGENT, timeout=10)
        assert len(fake.calls) == 1


async def test_deciding_an_approval_again_over_http_is_refused(tmp_path: Path) -> None:
    async with fake_rig(tmp_path) as (gw, _):
        approval_id = await approval_asked(gw, guarded("k1"))
        token = await http.csrf_token(gw, headers=http.OPERATOR)
        headers = {**http.OPERATOR, "X-CSRF-Token": token}
        denied = await http.call(
            gw, "POST", f"/v1/approvals/{approval_id}/deny", headers=headers, json={"reason": "no"}
        )
        assert denied.status == 200, denied
        before = await current(gw, approval_id)
        for action, body in (("approve", {"note": "yes after all"}), ("deny", {"reason": "no"})):
            path = f"/v1/approvals/{approval_id}/{action}"
            answer = await http.call(gw, "POST", path, headers=headers, json=body)
            seen = refused_http(answer, gw)
            assert (seen.http_status, seen.reason) == (409, "APPROVAL_NOT_PENDING")
            assert seen.metadata == {"approval_id": approval_id, "status": "denied"}
            row = seen.audit_row()
            assert (row["event_type"], row["caller"], row["connector_key"]) == (
                "request_rejected",
                "local-operator",
                "fake",
            )
        assert await current(gw, approval_id) == before
