"""At most once, whatever the clock, the caller or the order of retries.

Each test counts what the vendor received: an action the agent sees as done once must reach
the vendor once, however keys expire, callers share keys, or retries arrive without their
approval.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from google.protobuf.message import Message

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.call import Call, Context
from gateway.clock import utc_now
from gateway.errors import VendorUnavailable
from gateway.interceptors.base import Layer, Next
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
AGENT_B = ((DEV_CALLER_HEADER, "agent-b"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)
LATER = timedelta(days=3)  # past every key's expiry in these tests

POLICY = """
[callers.local-agent]
tenant = "default"
allow = ["*.*"]
[callers.agent-b]
tenant = "default"
allow = ["*.*"]
[callers.local-operator]
tenant = "default"
allow = ["*.*"]
operator = true
"""


def echo(key: str, operation: str = "echo", approval_id: str = "") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key="fake", operation=operation, idempotency_key=key, approval_id=approval_id
    )
    request.payload.update({"text": "hi"})
    return request


def undo(execution_id: str, key: str) -> pb.CompensateRequest:
    return pb.CompensateRequest(execution_id=execution_id, reason="asked", idempotency_key=key)


async def refused_with(call: Any) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    seen = refusal(caught.value)
    return seen.code, seen.reason, seen.metadata


def vendor_calls(fake: FakeAdapter, operation: str) -> int:
    return sum(1 for name, _ in fake.calls if name == operation)


@pytest.fixture
async def gateway(tmp_path: Path, fake: FakeAdapter) -> AsyncIterator[RunningGateway]:
    """Keys that expire almost at once, and two agents and an operator in one tenant."""
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = gateway_settings(
        tmp_path,
        auth={"mode": "development", "policy_file": str(policy)},
        reliability={"backoff_scale": 0.001, "idempotency_ttl_s": 0.001},
    )
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield gw


async def test_a_compensated_execution_is_never_undone_twice(
    gateway: RunningGateway, fake: FakeAdapter
) -> None:
    done = await gateway.stub.Execute(echo("pay-1"), metadata=AGENT, timeout=5)
    first = await gateway.stub.Compensate(undo(done.execution_id, "u-1"), metadata=AGENT, timeout=5)
    assert not first.replayed
    # The compensation's key has expired and been pruned; the execution's state still knows.
    assert await gateway.gateway.ledger.prune(now=utc_now() + LATER) >= 1
    for key in ("u-1", "u-2"):
        again = await gateway.stub.Compensate(
            undo(done.execution_id, key), metadata=AGENT, timeout=5
        )
        assert again.replayed
        assert again.result == first.result
    assert vendor_calls(fake, "unecho") == 1
    events = [r["event_type"] for r in gateway.audit_rows()]
    assert events.count("workflow_compensated") == 1
    assert events.count("execution_replayed") == 2


async def test_an_unknown_outcome_holds_its_key_until_resolved(
    gateway: RunningGateway, fake: FakeAdapter
) -> None:
    fake.failures = [VendorUnavailable("reset after sending", may_have_acted=True)]
    _, reason, _ = await refused_with(
        gateway.stub.Execute(echo("send-1"), metadata=AGENT, timeout=5)
    )
    assert reason == "OUTCOME_UNKNOWN"
    # Its expiry has passed: the key is still held, nothing is sent again.
    code, reason, meta = await refused_with(
        gateway.stub.Execute(echo("send-1"), metadata=AGENT, timeout=5)
    )
    assert (code, reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert vendor_calls(fake, "echo") == 1
    execution_id = meta["execution_id"]
    # Pruning leaves it too.
    await gateway.gateway.ledger.prune(now=utc_now() + LATER)
    _, reason, meta = await refused_with(
        gateway.stub.Execute(echo("send-1"), metadata=AGENT, timeout=5)
    )
    assert (reason, meta["execution_id"], meta["replayed"]) == (
        "OUTCOME_UNKNOWN",
        execution_id,
        "true",
    )
    assert vendor_calls(fake, "echo") == 1
    # An operator finds it did not act: the key is free and the same request runs.
    await epb_grpc.ExecutionServiceStub(gateway.channel).ResolveExecution(
        epb.ResolveExecutionRequest(
            execution_id=execution_id, resolution=epb.RESOLUTION_NOT_ACTED, note="not at vendor"
        ),
        metadata=OPERATOR,
        timeout=5,
    )
    ran = await gateway.stub.Execute(echo("send-1"), metadata=AGENT, timeout=5)
    assert not ran.replayed
    assert vendor_calls(fake, "echo") == 2


async def test_a_resolved_success_replays_after_the_original_expiry(
    tmp_path: Path, fake: FakeAdapter
) -> None:
    async with running_gateway(
        gateway_settings(tmp_path), connectors=[Connector(fake, registered=True)]
    ) as gw:
        fake.failures = [VendorUnavailable("reset after sending", may_have_acted=True)]
        await refused_with(gw.stub.Execute(echo("send-2"), timeout=5))
        executions = epb_grpc.ExecutionServiceStub(gw.channel)
        listed = await executions.ListExecutions(
            epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
            metadata=OPERATOR,
            timeout=5,
        )
        [unknown] = listed.executions
        # Long after the key would have expired, an operator resolves it as done.
        await gw.gateway.ledger.prune(now=utc_now() + LATER)
        await executions.ResolveExecution(
            epb.ResolveExecutionRequest(
                execution_id=unknown.execution_id,
                resolution=epb.RESOLUTION_SUCCEEDED,
                note="seen at the vendor",
                result=_struct({"execution_id": "v-1"}),
            ),
            metadata=OPERATOR,
            timeout=5,
        )
        replayed = await gw.stub.Execute(echo("send-2"), timeout=5)
        assert replayed.replayed
        assert replayed.execution_id == unknown.execution_id
        assert vendor_calls(fake, "echo") == 1


async def test_keys_belong_to_the_caller_that_chose_them(
    gateway: RunningGateway, fake: FakeAdapter
) -> None:
    executions = epb_grpc.ExecutionServiceStub(gateway.channel)
    mine = await gateway.stub.Execute(echo("shared-key"), metadata=AGENT, timeout=5)
    theirs = await gateway.stub.Execute(echo("shared-key"), metadata=AGENT_B, timeout=5)
    # Another agent's identical request is its own action, never the first agent's answer.
    assert not theirs.replayed
    assert theirs.execution_id != mine.execution_id
    assert vendor_calls(fake, "echo") == 2
    # One rule for every RPC that takes an execution id: not yours, not found.
    for call in (
        executions.GetExecution(
            epb.GetExecutionRequest(execution_id=mine.execution_id), metadata=AGENT_B, timeout=5
        ),
        gateway.stub.Compensate(undo(mine.execution_id, "u-b"), metadata=AGENT_B, timeout=5),
    ):
        code, reason, _ = await refused_with(call)
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "EXECUTION_NOT_FOUND")
    assert vendor_calls(fake, "unecho") == 0
    # The agent that ran it, and an operator, may undo it.
    undone = await gateway.stub.Compensate(
        undo(mine.execution_id, "u-a"), metadata=OPERATOR, timeout=5
    )
    assert undone.execution_id == mine.execution_id
    assert vendor_calls(fake, "unecho") == 1


async def _approved(gw: RunningGateway, key: str) -> str:
    _, reason, meta = await refused_with(
        gw.stub.Execute(echo(key, "guarded"), metadata=AGENT, timeout=5)
    )
    assert reason == "APPROVAL_REQUIRED"
    await apb_grpc.ApprovalServiceStub(gw.channel).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=meta["approval_id"], note="ok"),
        metadata=OPERATOR,
        timeout=5,
    )
    return meta["approval_id"]


async def pending_approvals(gw: RunningGateway) -> list[apb.Approval]:
    listed = await apb_grpc.ApprovalServiceStub(gw.channel).ListApprovals(
        apb.ListApprovalsRequest(status=apb.APPROVAL_STATUS_PENDING), metadata=OPERATOR, timeout=5
    )
    return list(listed.approvals)


async def test_an_approved_action_retried_without_its_approval_replays(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    approval_id = await _approved(gw, "pay-2")
    ran = await gw.stub.Execute(echo("pay-2", "guarded", approval_id), metadata=AGENT, timeout=5)
    requested_before = [r["event_type"] for r in gw.audit_rows()].count("approval_requested")
    # The agent retries without the approval id: the stored answer, no new approval request.
    again = await gw.stub.Execute(echo("pay-2", "guarded"), metadata=AGENT, timeout=5)
    assert (again.replayed, again.execution_id) == (True, ran.execution_id)
    assert vendor_calls(fake, "guarded") == 1
    assert await pending_approvals(gw) == []
    events = [r["event_type"] for r in gw.audit_rows()]
    assert events.count("approval_requested") == requested_before
    assert events[-1] == "execution_replayed"


async def test_an_unknown_approved_action_is_asked_again_without_a_new_approval(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    approval_id = await _approved(gw, "pay-3")
    fake.failures = [VendorUnavailable("reset after sending", may_have_acted=True)]
    _, reason, _ = await refused_with(
        gw.stub.Execute(echo("pay-3", "guarded", approval_id), metadata=AGENT, timeout=5)
    )
    assert reason == "OUTCOME_UNKNOWN"
    _, reason, _ = await refused_with(
        gw.stub.Execute(echo("pay-3", "guarded"), metadata=AGENT, timeout=5)
    )
    assert reason == "OUTCOME_UNKNOWN"  # the same answer, not APPROVAL_REQUIRED
    assert await pending_approvals(gw) == []
    assert vendor_calls(fake, "guarded") == 1


class FreeKeys:
    """A layer placed after the replay layer that resolves the call's earlier execution as
    not acted, as an operator might at that very moment."""

    name = "free_keys"

    def __init__(self, gw: list[RunningGateway]) -> None:
        self._gw = gw

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        if call.repeat and call.key is not None and call.identity is not None:
            ledger = self._gw[0].gateway.ledger
            record = await ledger.record(call.identity.tenant, call.key.scope, call.key.key)
            assert record is not None
            await ledger.resolve(
                tenant=call.identity.tenant,
                execution_id=record.execution_id,
                acted=False,
                outcome={},
                result={},
                note="not at the vendor",
                ttl_s=60,
            )
        return await call_next(call)


async def test_a_repeat_whose_key_was_freed_meanwhile_needs_an_approval(
    tmp_path: Path, fake: FakeAdapter
) -> None:
    holder: list[RunningGateway] = []

    def wrap(layers: list[Layer]) -> list[Layer]:
        at = [layer.name for layer in layers].index("replay") + 1
        return [*layers[:at], FreeKeys(holder), *layers[at:]]

    async with running_gateway(
        gateway_settings(tmp_path), connectors=[Connector(fake, registered=True)], wrap_layers=wrap
    ) as gw:
        holder.append(gw)
        approval_id = await _approved(gw, "pay-4")
        fake.failures = [VendorUnavailable("reset after sending", may_have_acted=True)]
        await refused_with(
            gw.stub.Execute(echo("pay-4", "guarded", approval_id), metadata=AGENT, timeout=5)
        )
        code, reason, meta = await refused_with(
            gw.stub.Execute(echo("pay-4", "guarded"), metadata=AGENT, timeout=5)
        )
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "APPROVAL_REQUIRED")
        assert meta["approval_id"] != approval_id
        assert vendor_calls(fake, "guarded") == 1
        assert await gw.gateway.ledger.record("default", "local-agent", "pay-4") is None


async def test_a_fault_before_any_vendor_contact_leaves_nothing_unknown(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    approval_id = await _approved(gw, "pay-5")
    fake.broken = [RuntimeError("the adapter could not build the request")]
    code, _, _ = await refused_with(
        gw.stub.Execute(echo("pay-5", "guarded", approval_id), metadata=AGENT, timeout=5)
    )
    assert code == grpc.StatusCode.INTERNAL
    unknown = await epb_grpc.ExecutionServiceStub(gw.channel).ListExecutions(
        epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN), metadata=OPERATOR, timeout=5
    )
    assert list(unknown.executions) == []
    got = await apb_grpc.ApprovalServiceStub(gw.channel).GetApproval(
        apb.GetApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=5
    )
    assert got.approval.status == apb.APPROVAL_STATUS_GRANTED  # given back
    # Once the adapter works, the same request with the same approval runs, once.
    ran = await gw.stub.Execute(echo("pay-5", "guarded", approval_id), metadata=AGENT, timeout=5)
    assert not ran.replayed
    assert vendor_calls(fake, "guarded") == 1
    failed = [r for r in gw.audit_rows() if r["status_code"] == "INTERNAL"]
    assert [(r["event_type"], r["outcome"]) for r in failed] == [("execution_failed", "failed")]


async def test_a_fault_after_vendor_contact_is_of_unknown_outcome(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    fake.failures = [RuntimeError("the adapter failed reading the answer")]  # after contact
    code, _, _ = await refused_with(gw.stub.Execute(echo("pay-6"), metadata=AGENT, timeout=5))
    assert code == grpc.StatusCode.INTERNAL
    _, reason, _ = await refused_with(gw.stub.Execute(echo("pay-6"), metadata=AGENT, timeout=5))
    assert reason == "OUTCOME_UNKNOWN"
    assert vendor_calls(fake, "echo") == 1


@pytest.fixture
async def capped_gateway(tmp_path: Path, fake: FakeAdapter) -> AsyncIterator[RunningGateway]:
    """The gateway's own 500 ms cap bounds every call: callers set far longer deadlines, so
    their timers never race the gateway's answer."""
    settings = gateway_settings(tmp_path, max_call_deadline_ms=500)
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield gw


async def test_an_adapter_stalled_before_contact_is_refused_not_unknown(
    capped_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = capped_gateway
    stalled = asyncio.Event()

    async def never_contacts(*args: Any) -> Any:
        stalled.set()
        await asyncio.Event().wait()  # never reaches the vendor; the guard stops it

    original = fake.execute
    fake.execute = never_contacts  # type: ignore[method-assign]
    try:
        code, reason, _ = await refused_with(
            gw.stub.Execute(echo("pay-7"), metadata=AGENT, timeout=30)
        )
    finally:
        fake.execute = original  # type: ignore[method-assign]
    assert stalled.is_set()
    assert (code, reason) == (grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED")
    ran = await gw.stub.Execute(echo("pay-7"), metadata=AGENT, timeout=5)
    assert not ran.replayed  # the key was freed: nothing had been sent
    assert vendor_calls(fake, "echo") == 1


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct
