"""Operators find executions of unknown outcome and resolve them; agents see their own."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.errors import VendorUnavailable
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway
from tests.support.rpc import refusal

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)


def echo(key: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key=key)
    request.payload.update({"text": "hi"})
    return request


async def unknown_outcome(gw: RunningGateway, fake: FakeAdapter, key: str) -> str:
    fake.failures = [VendorUnavailable("reset after sending", may_have_acted=True)]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(echo(key), metadata=AGENT, timeout=5)
    seen = refusal(caught.value)
    assert seen.reason == "OUTCOME_UNKNOWN"
    listed = await epb_grpc.ExecutionServiceStub(gw.channel).ListExecutions(
        epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
        metadata=OPERATOR,
        timeout=5,
    )
    [execution] = [e for e in listed.executions if e.idempotency_key == key]
    return execution.execution_id


def resolve(
    execution_id: str,
    resolution: int,
    note: str = "checked the vendor's console",
    result: dict[str, Any] | None = None,
) -> epb.ResolveExecutionRequest:
    request = epb.ResolveExecutionRequest(
        execution_id=execution_id,
        resolution=resolution,  # type: ignore[arg-type]
        note=note,
    )
    if result is not None:
        request.result.update(result)
    return request


async def test_resolved_as_succeeded_replays_success(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    stub = epb_grpc.ExecutionServiceStub(gw.channel)
    execution_id = await unknown_outcome(gw, fake, "k1")
    resolved = await stub.ResolveExecution(
        resolve(
            execution_id,
            epb.RESOLUTION_SUCCEEDED,
            "vendor shows msg 42",
            result={"execution_id": "vendor-obj-42"},
        ),
        metadata=OPERATOR,
        timeout=5,
    )
    assert resolved.execution.status == epb.EXECUTION_STATUS_SUCCEEDED
    assert resolved.execution.resolution_note == "vendor shows msg 42"
    replay = await gw.stub.Execute(echo("k1"), metadata=AGENT, timeout=5)
    assert (replay.replayed, replay.execution_id) == (True, execution_id)
    assert replay.result["execution_id"] == "vendor-obj-42"
    assert len(fake.calls) == 1  # never sent again
    # Resolving twice is refused.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ResolveExecution(
            resolve(execution_id, epb.RESOLUTION_NOT_ACTED), metadata=OPERATOR, timeout=5
        )
    assert refusal(caught.value).reason == "EXECUTION_NOT_UNKNOWN"
    rows = gw.audit_rows()
    resolved_rows = [r for r in rows if r["event_type"] == "outcome_resolved"]
    assert [(r["caller"], r["execution_id"]) for r in resolved_rows] == [
        ("local-operator", execution_id)
    ]


async def test_resolved_as_not_acted_frees_the_key(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    execution_id = await unknown_outcome(gw, fake, "k2")
    await epb_grpc.ExecutionServiceStub(gw.channel).ResolveExecution(
        resolve(execution_id, epb.RESOLUTION_NOT_ACTED), metadata=OPERATOR, timeout=5
    )
    ran = await gw.stub.Execute(echo("k2"), metadata=AGENT, timeout=5)
    assert not ran.replayed
    assert len(fake.calls) == 2


async def test_only_operators_resolve_and_agents_see_their_own(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    stub = epb_grpc.ExecutionServiceStub(gw.channel)
    execution_id = await unknown_outcome(gw, fake, "k3")
    for call, reason in (
        (
            stub.ResolveExecution(
                resolve(execution_id, epb.RESOLUTION_SUCCEEDED), metadata=AGENT, timeout=5
            ),
            "OPERATOR_REQUIRED",
        ),
        (
            stub.ListExecutions(epb.ListExecutionsRequest(), metadata=AGENT, timeout=5),
            "OPERATOR_REQUIRED",
        ),
        (
            stub.ResolveExecution(resolve(execution_id, 7), metadata=OPERATOR, timeout=5),
            "INVALID_FIELD",
        ),
        (
            stub.ResolveExecution(
                resolve(execution_id, epb.RESOLUTION_SUCCEEDED, note=" "),
                metadata=OPERATOR,
                timeout=5,
            ),
            "MISSING_FIELD",
        ),
        (
            stub.GetExecution(
                epb.GetExecutionRequest(execution_id="0" * 32), metadata=AGENT, timeout=5
            ),
            "EXECUTION_NOT_FOUND",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert refusal(caught.value).reason == reason
    mine = await stub.GetExecution(
        epb.GetExecutionRequest(execution_id=execution_id), metadata=AGENT, timeout=5
    )
    assert mine.execution.status == epb.EXECUTION_STATUS_UNKNOWN
