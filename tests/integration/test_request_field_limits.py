"""Every id, name and free text a caller sends has a format and a maximum length, checked
before anything is stored or looked up: a malformed value is INVALID_FIELD naming the field,
and neither the refusal nor its audit row grows with the size of what was sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.registry import Connector
from tests.support.cli import run_cli
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal

OPERATOR = (("x-connector-gateway-dev-caller", "local-operator"),)
HUGE = 900_000  # fits the default receive limit (1 MiB payload + 64 KiB envelope)
LARGE = 5_000  # a few kilobytes: enough, echoed twice or thrice, to pass gRPC's 16 KiB trailers
UNKNOWN_EXECUTION = "0" * 32
UNKNOWN_APPROVAL = "apr_" + "0" * 24
SMALL_MESSAGE = 300  # characters: a refusal quotes an excerpt at most
SMALL_ROW = 2_000  # characters of the whole audit row, every column together

Send = Callable[[RunningGateway], Awaitable[Any]]


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[RunningGateway]:
    settings = gateway_settings(tmp_path)  # the default 1 MiB payload limit
    async with running_gateway(
        settings, connectors=[Connector(FakeAdapter(), registered=True)]
    ) as running:
        yield running


def execute(**fields: Any) -> Send:
    request = pb.ExecuteRequest(
        **{"connector_key": "fake", "operation": "echo", "idempotency_key": "k1", **fields}
    )
    request.payload.update({"text": "hi"})
    return lambda gw: gw.stub.Execute(request, timeout=10)


def compensate(**fields: Any) -> Send:
    request = pb.CompensateRequest(
        **{"execution_id": UNKNOWN_EXECUTION, "reason": "r", "idempotency_key": "u1", **fields}
    )
    return lambda gw: gw.stub.Compensate(request, timeout=10)


def executions(method: str, request: Any) -> Send:
    return lambda gw: getattr(epb_grpc.ExecutionServiceStub(gw.channel), method)(
        request, metadata=OPERATOR, timeout=10
    )


def approvals(method: str, request: Any) -> Send:
    return lambda gw: getattr(apb_grpc.ApprovalServiceStub(gw.channel), method)(
        request, metadata=OPERATOR, timeout=10
    )


CASES: dict[str, tuple[Send, str]] = {
    "huge execution_id to GetExecution": (
        executions("GetExecution", epb.GetExecutionRequest(execution_id="f" * HUGE)),
        "execution_id",
    ),
    "huge execution_id to Compensate": (compensate(execution_id="f" * HUGE), "execution_id"),
    "large execution_id to ResolveExecution": (
        executions(
            "ResolveExecution",
            epb.ResolveExecutionRequest(
                execution_id="a" * LARGE, resolution=epb.RESOLUTION_SUCCEEDED, note="seen"
            ),
        ),
        "execution_id",
    ),
    "upper-case execution_id": (
        executions("GetExecution", epb.GetExecutionRequest(execution_id="A" * 32)),
        "execution_id",
    ),
    "large connector_key to Execute": (execute(connector_key="x" * LARGE), "connector_key"),
    "connector_key with a space": (execute(connector_key="fake "), "connector_key"),
    "large connector_key to DescribeConnector": (
        lambda gw: gw.stub.DescribeConnector(
            pb.DescribeConnectorRequest(connector_key="x" * LARGE), timeout=10
        ),
        "connector_key",
    ),
    "large connector_key to Health": (
        lambda gw: gw.stub.Health(pb.HealthRequest(connector_key="x" * LARGE), timeout=10),
        "connector_key",
    ),
    "large connector_key to Metrics": (
        lambda gw: gw.stub.Metrics(pb.MetricsRequest(connector_key="x" * LARGE), timeout=10),
        "connector_key",
    ),
    "large operation": (execute(operation="o" * LARGE), "operation"),
    "large approval_id to Execute": (execute(approval_id="apr_" + "0" * LARGE), "approval_id"),
    "large approval_id to Compensate": (
        compensate(approval_id="apr_" + "0" * LARGE),
        "approval_id",
    ),
    "large approval_id to GetApproval": (
        approvals("GetApproval", apb.GetApprovalRequest(approval_id="a" * LARGE)),
        "approval_id",
    ),
    "large approval_id to ApproveApproval": (
        approvals("ApproveApproval", apb.ApproveApprovalRequest(approval_id="a" * LARGE)),
        "approval_id",
    ),
    "large approval_id to DenyApproval": (
        approvals("DenyApproval", apb.DenyApprovalRequest(approval_id="a" * LARGE, reason="no")),
        "approval_id",
    ),
    "approval_id with a newline": (
        approvals("GetApproval", apb.GetApprovalRequest(approval_id=UNKNOWN_APPROVAL + "\n")),
        "approval_id",
    ),
    "long approve note": (
        approvals(
            "ApproveApproval",
            apb.ApproveApprovalRequest(approval_id=UNKNOWN_APPROVAL, note="n" * 2001),
        ),
        "note",
    ),
    "long deny reason": (
        approvals(
            "DenyApproval",
            apb.DenyApprovalRequest(approval_id=UNKNOWN_APPROVAL, reason="r" * LARGE),
        ),
        "reason",
    ),
    "deny reason with a control character": (
        approvals(
            "DenyApproval",
            apb.DenyApprovalRequest(approval_id=UNKNOWN_APPROVAL, reason="stop\x1b[2J"),
        ),
        "reason",
    ),
    "long compensate reason": (compensate(reason="r" * 2001), "reason"),
    "resolve note with a NUL": (
        executions(
            "ResolveExecution",
            epb.ResolveExecutionRequest(
                execution_id=UNKNOWN_EXECUTION, resolution=epb.RESOLUTION_NOT_ACTED, note="a\x00b"
            ),
        ),
        "note",
    ),
    "idempotency_key ending in a newline": (execute(idempotency_key="k1\n"), "idempotency_key"),
}


@pytest.mark.parametrize("case", CASES)
async def test_malformed_id_or_text_is_invalid_field_and_stays_small(
    gw: RunningGateway, case: str
) -> None:
    send, field = CASES[case]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await send(gw)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    assert [name for name, _ in seen.violations] == [field]
    assert seen.message.startswith(f"{field} must ")
    assert len(seen.message) < SMALL_MESSAGE
    assert sum(len(v) for v in seen.metadata.values()) < SMALL_MESSAGE
    [row] = gw.audit_rows()
    assert (row["event_type"], row["outcome"], row["reason"]) == (
        "request_rejected",
        "refused",
        "INVALID_FIELD",
    )
    assert len(json.dumps(row)) < SMALL_ROW


async def test_well_formed_unknown_ids_are_still_not_found(gw: RunningGateway) -> None:
    for send, reason in (
        (
            executions("GetExecution", epb.GetExecutionRequest(execution_id=UNKNOWN_EXECUTION)),
            "EXECUTION_NOT_FOUND",
        ),
        (compensate(), "EXECUTION_NOT_FOUND"),
        (
            approvals("GetApproval", apb.GetApprovalRequest(approval_id=UNKNOWN_APPROVAL)),
            "APPROVAL_NOT_FOUND",
        ),
        (
            lambda gw: gw.stub.DescribeConnector(
                pb.DescribeConnectorRequest(connector_key="nope"), timeout=10
            ),
            "CONNECTOR_NOT_FOUND",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await send(gw)
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (grpc.StatusCode.NOT_FOUND, reason)


async def test_cli_describe_with_a_huge_key_is_a_short_clear_error(
    gw: RunningGateway,
) -> None:
    ran = await run_cli(
        "--address",
        gw.address,
        "connectors",
        "describe",
        "k" * 10_000,
        data_dir=gw.gateway.settings.data_dir,
    )
    assert ran.returncode == 1
    assert "INVALID_ARGUMENT" in ran.stderr
    assert "reason: INVALID_FIELD" in ran.stderr
    assert "connector_key must be" in ran.stderr
    assert len(ran.stdout) + len(ran.stderr) < 600


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "hi", "k" * 100_000: 1},
        {"text": "hi", **{f"unknown_{i}": i for i in range(10_000)}},
    ],
    ids=["one huge unknown key", "ten thousand unknown keys"],
)
async def test_payload_refusal_stays_small_whatever_the_payload(
    gw: RunningGateway, payload: dict[str, Any]
) -> None:
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="k1")
    request.payload.update(payload)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, timeout=10)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
    assert 1 <= len(seen.violations) <= 20
    assert all(len(field) < 100 for field, _ in seen.violations)
    assert len(seen.message) < SMALL_MESSAGE
    [row] = gw.audit_rows()
    assert row["reason"] == "INVALID_PAYLOAD"
