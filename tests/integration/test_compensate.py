"""Compensate: undoes a successful execution with its declared compensation, or refuses."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.integration.test_email_end_to_end import email_settings, send_request
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.rpc import refusal
from tests.support.smtp_peers import SmtpPeer

UNKNOWN_ID = "0" * 32  # well formed, and no execution has it


async def test_compensation_runs_the_declared_undo(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="c-1")
    request.payload.update({"text": "hi"})
    done = await fake_gateway.stub.Execute(request, timeout=5)
    undone = await fake_gateway.stub.Compensate(
        pb.CompensateRequest(
            execution_id=done.execution_id, reason="customer asked", idempotency_key="u-1"
        ),
        timeout=5,
    )
    assert undone.compensating_operation == "unecho"
    assert undone.result["undone"] == done.execution_id
    assert [c[0] for c in fake.calls] == ["echo", "unecho"]
    events = [r["event_type"] for r in fake_gateway.audit_rows()]
    assert events == [
        "execution_requested",
        "echoed",
        "compensation_requested",
        "workflow_compensated",
    ]
    assert fake_gateway.audit_rows()[-1]["event_id"] == undone.audit_event_id


@pytest.mark.parametrize(
    ("request_", "code", "reason"),
    [
        (
            pb.CompensateRequest(execution_id=UNKNOWN_ID, reason="r", idempotency_key="k"),
            grpc.StatusCode.NOT_FOUND,
            "EXECUTION_NOT_FOUND",
        ),
        (
            pb.CompensateRequest(execution_id=UNKNOWN_ID, reason="", idempotency_key="k"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "MISSING_FIELD",
        ),
        (
            pb.CompensateRequest(execution_id=UNKNOWN_ID, reason="r"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "MISSING_FIELD",
        ),
    ],
    ids=["unknown execution", "missing reason", "missing idempotency key"],
)
async def test_compensate_refusals_are_audited(
    fake_gateway: RunningGateway,
    request_: pb.CompensateRequest,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Compensate(request_, timeout=5)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (code, reason)
    [row] = fake_gateway.audit_rows()
    assert (row["rpc_method"], row["event_type"], row["reason"]) == (
        "Compensate",
        "request_rejected",
        reason,
    )


async def test_sent_email_is_not_compensable(tmp_path: Path, smtp_server: SmtpPeer) -> None:
    settings = email_settings(tmp_path, smtp_server.settings())
    async with running_gateway(settings) as gw:
        sent = await gw.stub.Execute(send_request(), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Compensate(
                pb.CompensateRequest(
                    execution_id=sent.execution_id, reason="oops", idempotency_key="u-1"
                ),
                timeout=5,
            )
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_COMPENSABLE")
        assert seen.metadata == {"connector_key": "email", "operation": "send"}
        assert len(smtp_server.messages) == 1
        assert gw.audit_rows()[-1]["reason"] == "NOT_COMPENSABLE"
