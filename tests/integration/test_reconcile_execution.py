"""An operator asks the vendor about executions whose outcome is unknown
(``ReconcileExecution``, ``connector-gateway executions reconcile``): the vendor finds the
request by the gateway's marker or does not, and the execution is settled from its answer,
with no second action at the vendor."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.errors import VendorUnavailable
from gateway.registry import Connector
from tests.integration.test_approvals import AGENT, OPERATOR, approvals, ask, guarded
from tests.support.cli import run_cli_at
from tests.support.fake_adapter import LookupFakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal


@pytest.fixture
def vendor() -> LookupFakeAdapter:
    return LookupFakeAdapter()


@pytest.fixture
async def gw(tmp_path: Path, vendor: LookupFakeAdapter) -> AsyncIterator[RunningGateway]:
    settings = gateway_settings(tmp_path)
    async with running_gateway(settings, connectors=[Connector(vendor, registered=True)]) as gw:
        yield gw


def executions(gw: RunningGateway) -> epb_grpc.ExecutionServiceStub:
    return epb_grpc.ExecutionServiceStub(gw.channel)


async def approved_but_unknown(gw: RunningGateway, key: str) -> str:
    """A class B call, approved, whose answer is lost: its execution id."""
    approval_id = await ask(gw, guarded(key))
    await approvals(gw).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=approval_id, note="ok"), metadata=OPERATOR
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(guarded(key, approval_id=approval_id), metadata=AGENT, timeout=5)
    seen = refusal(caught.value)
    assert seen.reason == "OUTCOME_UNKNOWN", seen
    return seen.metadata["execution_id"]


def reconcile(execution_id: str) -> epb.ReconcileExecutionRequest:
    return epb.ReconcileExecutionRequest(execution_id=execution_id)


async def test_a_request_the_vendor_acted_on_is_settled_as_succeeded(
    gw: RunningGateway, vendor: LookupFakeAdapter
) -> None:
    vendor.lose_answers = 1  # the vendor acts, then the answer is lost
    execution_id = await approved_but_unknown(gw, "pay-1")
    answer = await executions(gw).ReconcileExecution(
        reconcile(execution_id), metadata=OPERATOR, timeout=5
    )
    assert answer.found
    assert answer.execution.status == epb.EXECUTION_STATUS_SUCCEEDED
    assert answer.execution.result["echo"]["text"] == "pay the invoice"
    assert "found the request" in answer.execution.resolution_note
    assert (len(vendor.calls), vendor.lookups) == (1, 1)
    row = gw.audit_rows()[-1]
    assert (row["event_type"], row["caller"], row["execution_id"]) == (
        "outcome_reconciled",
        "local-operator",
        execution_id,
    )
    assert json.loads(row["detail"])["resolution"] == "succeeded"
    # The agent's repeat of its key replays what the vendor holds; nothing acts again.
    again = await gw.stub.Execute(guarded("pay-1"), metadata=AGENT, timeout=5)
    assert again.replayed
    assert again.execution_id == execution_id
    assert len(vendor.calls) == 1


async def test_a_request_the_vendor_never_saw_frees_its_key(
    gw: RunningGateway, vendor: LookupFakeAdapter
) -> None:
    vendor.failures = [VendorUnavailable("reset before acting", may_have_acted=True)]
    execution_id = await approved_but_unknown(gw, "pay-2")
    answer = await executions(gw).ReconcileExecution(
        reconcile(execution_id), metadata=OPERATOR, timeout=5
    )
    assert not answer.found
    assert answer.execution.status == epb.EXECUTION_STATUS_FAILED
    assert vendor.acted == {}
    assert gw.audit_rows()[-1]["event_type"] == "outcome_reconciled"
    # Settled: asking again is refused, and nothing is asked of the vendor.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await executions(gw).ReconcileExecution(
            reconcile(execution_id), metadata=OPERATOR, timeout=5
        )
    assert refusal(caught.value).reason == "EXECUTION_NOT_UNKNOWN"
    assert vendor.lookups == 1


async def test_an_agent_cannot_reconcile(gw: RunningGateway, vendor: LookupFakeAdapter) -> None:
    vendor.lose_answers = 1
    execution_id = await approved_but_unknown(gw, "pay-3")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await executions(gw).ReconcileExecution(reconcile(execution_id), metadata=AGENT)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert vendor.lookups == 0


async def test_the_cli_reconciles_every_unknown_execution_of_a_connector(
    gw: RunningGateway, vendor: LookupFakeAdapter
) -> None:
    vendor.lose_answers = 1
    acted = await approved_but_unknown(gw, "pay-4")
    vendor.failures = [VendorUnavailable("reset before acting", may_have_acted=True)]
    never_acted = await approved_but_unknown(gw, "pay-5")
    # A class A call's request is not kept: the vendor cannot be asked about it.
    vendor.lose_answers = 1
    echo = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="e-1")
    echo.payload.update({"text": "hi"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(echo, metadata=AGENT, timeout=5)
    unasked = refusal(caught.value).metadata["execution_id"]

    ran = await run_cli_at(gw, "executions", "reconcile", "--connector", "fake")
    assert ran.returncode == 1, ran  # one is still unknown
    assert f"{acted}: succeeded (the vendor acted)" in ran.stdout
    assert f"{never_acted}: failed (the vendor did not act)" in ran.stdout
    assert f"{unasked}: still unknown" in ran.stderr
    assert "VENDOR_LOOKUP_UNAVAILABLE" in ran.stderr
    assert "why: request_not_kept" in ran.stderr
    left = await executions(gw).ListExecutions(
        epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN), metadata=OPERATOR
    )
    assert [e.execution_id for e in left.executions] == [unasked]
    assert len(vendor.acted) == 2  # the two acts of the vendor; nothing more

    nothing = await run_cli_at(gw, "executions", "reconcile", "--connector", "email")
    assert (nothing.returncode, nothing.stdout.strip()) == (
        0,
        "no execution of email has an unknown outcome",
    )
