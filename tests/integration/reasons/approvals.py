"""Class B actions: the approval they need, and every way an approval cannot be used."""

from __future__ import annotations

from pathlib import Path

from connectorgateway.v1 import approval_service_pb2 as apb
from tests.integration.reasons.observe import (
    AGENT,
    OPERATOR,
    Observed,
    Scenario,
    approval_asked,
    approvals,
    fake_rig,
    granted,
    guarded,
    refused_rpc,
)

UNKNOWN_APPROVAL_ID = "apr_" + "0" * 24


async def approval_required(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        seen = await refused_rpc(gw.stub.Execute(guarded("k1"), metadata=AGENT, timeout=10), gw)
        assert {k: v for k, v in seen.metadata.items() if k != "approval_id"} == {
            "connector_key": "fake",
            "operation": "guarded",
            "policy_class": "B",
        }
        row = seen.audit_row()
        assert row["event_type"] == "approval_requested"
        assert seen.metadata["approval_id"] in row["detail"]
        # The id names the pending request an operator sees.
        got = await approvals(gw).GetApproval(
            apb.GetApprovalRequest(approval_id=seen.metadata["approval_id"]),
            metadata=OPERATOR,
            timeout=10,
        )
        assert got.approval.status == apb.APPROVAL_STATUS_PENDING
        assert fake.calls == []
        return seen


async def too_many_pending_approvals(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path, approvals={"max_pending_per_caller": 1}) as (gw, fake):
        await approval_asked(gw, guarded("k1", text="first"))
        second = guarded("k2", text="second")
        seen = await refused_rpc(gw.stub.Execute(second, metadata=AGENT, timeout=10), gw)
        assert seen.metadata == {"pending": "1", "limit": "1"}
        listed = await approvals(gw).ListApprovals(
            apb.ListApprovalsRequest(), metadata=OPERATOR, timeout=10
        )
        assert len(listed.approvals) == 1  # no new request was opened
        assert fake.calls == []
        return seen


async def approval_pending(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        approval_id = await approval_asked(gw, guarded("k1"))
        request = guarded("k1", approval_id=approval_id)
        seen = await refused_rpc(gw.stub.Execute(request, metadata=AGENT, timeout=10), gw)
        assert seen.metadata == {"approval_id": approval_id}
        assert seen.audit_row()["event_type"] == "approval_refused"
        assert fake.calls == []
        return seen


async def approval_denied(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        approval_id = await approval_asked(gw, guarded("k1"))
        await approvals(gw).DenyApproval(
            apb.DenyApprovalRequest(approval_id=approval_id, reason="not this month"),
            metadata=OPERATOR,
            timeout=10,
        )
        request = guarded("k1", approval_id=approval_id)
        seen = await refused_rpc(gw.stub.Execute(request, metadata=AGENT, timeout=10), gw)
        assert seen.metadata == {"approval_id": approval_id}
        assert "not this month" in seen.message  # the person's reason
        assert fake.calls == []
        return seen


async def approval_expired(tmp_path: Path) -> Observed:
    # A grant must be used within approvals.use_within_s: here it is over at once.
    async with fake_rig(tmp_path, approvals={"use_within_s": 1e-6}) as (gw, fake):
        approval_id = await granted(gw, guarded("k1"))
        request = guarded("k1", approval_id=approval_id)
        seen = await refused_rpc(gw.stub.Execute(request, metadata=AGENT, timeout=10), gw)
        assert seen.metadata == {"approval_id": approval_id}
        got = await approvals(gw).GetApproval(
            apb.GetApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=10
        )
        assert got.approval.status == apb.APPROVAL_STATUS_EXPIRED
        assert fake.calls == []
        return seen


async def approval_used(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        approval_id = await granted(gw, guarded("k1"))
        ran = await gw.stub.Execute(
            guarded("k1", approval_id=approval_id), metadata=AGENT, timeout=10
        )
        # The same approval for another request (a new key).
        request = guarded("k2", approval_id=approval_id)
        seen = await refused_rpc(gw.stub.Execute(request, metadata=AGENT, timeout=10), gw)
        assert seen.metadata == {
            "approval_id": approval_id,
            "used_by_execution_id": ran.execution_id,
        }
        assert len(fake.calls) == 1
        return seen


async def approval_mismatch(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        approval_id = await granted(gw, guarded("k1", text="pay the invoice"))
        changed = guarded("k1", text="pay it twice", approval_id=approval_id)
        seen = await refused_rpc(gw.stub.Execute(changed, metadata=AGENT, timeout=10), gw)
        assert seen.metadata == {"approval_id": approval_id, "mismatch": "payload_digest"}
        assert "twice" not in seen.message  # names the part that differs, not its value
        assert fake.calls == []
        return seen


async def approval_not_found(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        request = guarded("k1", approval_id=UNKNOWN_APPROVAL_ID)
        seen = await refused_rpc(gw.stub.Execute(request, metadata=AGENT, timeout=10), gw)
        assert seen.metadata == {"approval_id": UNKNOWN_APPROVAL_ID}
        assert fake.calls == []
        return seen


async def self_approval_forbidden(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        # The operator asks for an approval itself, then tries to grant it.
        asked = await refused_rpc(gw.stub.Execute(guarded("k1"), metadata=OPERATOR, timeout=10), gw)
        approval_id = asked.metadata["approval_id"]
        decision = approvals(gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=10
        )
        seen = await refused_rpc(decision, gw)
        assert seen.metadata == {"approval_id": approval_id}
        got = await approvals(gw).GetApproval(
            apb.GetApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=10
        )
        assert got.approval.status == apb.APPROVAL_STATUS_PENDING
        assert fake.calls == []
        return seen


async def approval_not_pending(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        approval_id = await granted(gw, guarded("k1"))
        again = approvals(gw).DenyApproval(
            apb.DenyApprovalRequest(approval_id=approval_id, reason="changed my mind"),
            metadata=OPERATOR,
            timeout=10,
        )
        seen = await refused_rpc(again, gw)
        assert seen.metadata == {"approval_id": approval_id, "status": "granted"}
        return seen


SCENARIOS: dict[str, Scenario] = {
    "APPROVAL_REQUIRED": approval_required,
    "TOO_MANY_PENDING_APPROVALS": too_many_pending_approvals,
    "APPROVAL_PENDING": approval_pending,
    "APPROVAL_DENIED": approval_denied,
    "APPROVAL_EXPIRED": approval_expired,
    "APPROVAL_USED": approval_used,
    "APPROVAL_MISMATCH": approval_mismatch,
    "APPROVAL_NOT_FOUND": approval_not_found,
    "SELF_APPROVAL_FORBIDDEN": self_approval_forbidden,
    "APPROVAL_NOT_PENDING": approval_not_pending,
}
