"""The execution ledger: undoing an execution, and operators settling unknown outcomes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from gateway.contract import ConnectorMetadata
from gateway.errors import VendorUnavailable
from tests.integration.reasons.observe import (
    OPERATOR,
    Observed,
    Scenario,
    echo,
    executions,
    fake_rig,
    refused_rpc,
)
from tests.support.fake_adapter import FAKE_METADATA, FakeAdapter
from tests.support.gateway import RunningGateway


def undo(execution_id: str, key: str = "undo-1") -> pb.CompensateRequest:
    return pb.CompensateRequest(
        execution_id=execution_id, reason="sent by mistake", idempotency_key=key
    )


def lost_answer() -> VendorUnavailable:
    """The vendor took the request, and the connection dropped before its answer."""
    return VendorUnavailable("connection reset after the request", may_have_acted=True)


async def unknown_outcome(gw: RunningGateway, fake: FakeAdapter, key: str) -> str:
    """Runs an echo whose outcome is unknown; its execution id."""
    fake.failures = [lost_answer()]
    seen = await refused_rpc(gw.stub.Execute(echo(key), timeout=10), gw)
    assert seen.reason == "OUTCOME_UNKNOWN", seen
    return seen.metadata["execution_id"]


def undone_at_vendor(fake: FakeAdapter) -> list[str]:
    return [operation for operation, _ in fake.calls if operation == "unecho"]


async def execution_not_succeeded(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        execution_id = await unknown_outcome(gw, fake, "k1")
        seen = await refused_rpc(gw.stub.Compensate(undo(execution_id), timeout=10), gw)
        assert seen.metadata == {"execution_id": execution_id, "status": "unknown"}
        assert undone_at_vendor(fake) == []
        return seen


async def execution_not_unknown(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        ran = await gw.stub.Execute(echo("k1"), timeout=10)
        request = epb.ResolveExecutionRequest(
            execution_id=ran.execution_id,
            resolution=epb.RESOLUTION_NOT_ACTED,
            note="nothing at the vendor",
        )
        seen = await refused_rpc(
            executions(gw).ResolveExecution(request, metadata=OPERATOR, timeout=10), gw
        )
        assert seen.metadata == {"execution_id": ran.execution_id, "status": "succeeded"}
        replayed = await gw.stub.Execute(echo("k1"), timeout=10)
        assert replayed.replayed  # the execution and its key are as they were
        return seen


async def not_compensable(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        ran = await gw.stub.Execute(echo("k1", operation="unecho"), timeout=10)
        seen = await refused_rpc(gw.stub.Compensate(undo(ran.execution_id), timeout=10), gw)
        assert seen.metadata == {"connector_key": "fake", "operation": "unecho"}
        assert len(fake.calls) == 1
        return seen


class EarlierEchoResult(BaseModel):
    """What an earlier version of the fake connector declared echo to return: no ids."""

    model_config = ConfigDict(extra="allow")


def earlier_version() -> ConnectorMetadata:
    operations = tuple(
        dataclasses.replace(op, result_model=EarlierEchoResult) if op.name == "echo" else op
        for op in FAKE_METADATA.operations
    )
    return dataclasses.replace(FAKE_METADATA, operations=operations)


async def execution_result_missing(tmp_path: Path) -> Observed:
    # An operator resolved the execution under an earlier version, which did not ask for
    # the vendor's ids; the undo of this version needs them.
    async with fake_rig(tmp_path, FakeAdapter(earlier_version())) as (gw, fake):
        execution_id = await unknown_outcome(gw, fake, "k1")
        resolution = epb.ResolveExecutionRequest(
            execution_id=execution_id,
            resolution=epb.RESOLUTION_SUCCEEDED,
            note="the message is in the vendor's log",
        )
        resolution.result.update({"seen": "in the vendor's log"})
        await executions(gw).ResolveExecution(resolution, metadata=OPERATOR, timeout=10)
    async with fake_rig(tmp_path) as (gw, fake):
        seen = await refused_rpc(gw.stub.Compensate(undo(execution_id), timeout=10), gw)
        assert seen.metadata == {"execution_id": execution_id}
        assert fake.calls == []
        return seen


async def vendor_lookup_unavailable(tmp_path: Path) -> Observed:
    # The fake vendor offers no lookup: the operator is told to resolve by hand.
    async with fake_rig(tmp_path) as (gw, fake):
        execution_id = await unknown_outcome(gw, fake, "k1")
        calls = len(fake.calls)
        seen = await refused_rpc(
            executions(gw).ReconcileExecution(
                epb.ReconcileExecutionRequest(execution_id=execution_id),
                metadata=OPERATOR,
                timeout=10,
            ),
            gw,
        )
        assert seen.metadata == {"execution_id": execution_id, "why": "no_lookup"}
        assert len(fake.calls) == calls  # nothing was sent to the vendor
        return seen


SCENARIOS: dict[str, Scenario] = {
    "EXECUTION_NOT_SUCCEEDED": execution_not_succeeded,
    "EXECUTION_NOT_UNKNOWN": execution_not_unknown,
    "NOT_COMPENSABLE": not_compensable,
    "EXECUTION_RESULT_MISSING": execution_result_missing,
    "VENDOR_LOOKUP_UNAVAILABLE": vendor_lookup_unavailable,
}
