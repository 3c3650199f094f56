"""A real gateway whose ``stripe`` account points at a loopback Stripe (Prism serving Stripe's
description, or the stateful fake), with a recorder in between; and the calls an agent and
an operator make of it (class B calls and undos go through a person's approval)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from tests.integration.reasons.observe import (
    AGENT,
    OPERATOR,
    approvals,
    executions,
    granted,
    refused_rpc,
)
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.vendor_recorder import RecordedRequest, VendorRecorder
from tests.support.vendor_schema import VendorSchema

KEY = "sk_test_GatewayRigKey0123456789"
FAITHFUL = "stripe/spec3.trimmed.yaml"
CALL_TIMEOUT_S = 60  # Prism compiles its validators on the first request to each operation


@dataclass
class StripeGateway:
    gw: RunningGateway
    recorder: VendorRecorder

    async def read(self, operation: str, **payload: Any) -> pb.ExecuteResponse:
        return await self.gw.stub.Execute(
            request(operation, "", **payload), metadata=AGENT, timeout=CALL_TIMEOUT_S
        )

    async def approved(self, call: pb.ExecuteRequest) -> pb.ExecuteResponse:
        """A class B call: asked for, granted by an operator, then sent with the approval."""
        call.approval_id = await granted(self.gw, call)
        return await self.send(call)

    async def send(self, call: pb.ExecuteRequest) -> pb.ExecuteResponse:
        return await self.gw.stub.Execute(call, metadata=AGENT, timeout=CALL_TIMEOUT_S)

    async def undo(self, execution_id: str, key: str = "undo-1") -> pb.CompensateResponse:
        """Compensate, approved by an operator."""
        return await self.approved_undo(
            pb.CompensateRequest(
                execution_id=execution_id,
                reason="the customer changed their mind",
                idempotency_key=key,
            )
        )

    async def approved_undo(self, call: pb.CompensateRequest) -> pb.CompensateResponse:
        """``call`` sent without an approval (refused, opening one), granted by an operator,
        and sent again with it."""
        seen = await refused_rpc(
            self.gw.stub.Compensate(call, metadata=AGENT, timeout=CALL_TIMEOUT_S), self.gw
        )
        assert seen.reason == "APPROVAL_REQUIRED", seen
        await approvals(self.gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=seen.metadata["approval_id"], note="checked"),
            metadata=OPERATOR,
            timeout=10,
        )
        call.approval_id = seen.metadata["approval_id"]
        return await self.compensate(call)

    async def compensate(self, call: pb.CompensateRequest) -> pb.CompensateResponse:
        return await self.gw.stub.Compensate(call, metadata=AGENT, timeout=CALL_TIMEOUT_S)

    async def execution(self, execution_id: str) -> epb.Execution:
        found = await executions(self.gw).GetExecution(
            epb.GetExecutionRequest(execution_id=execution_id), metadata=OPERATOR, timeout=10
        )
        return found.execution

    async def listed(self, status: epb.ExecutionStatus.ValueType) -> list[str]:
        found = await executions(self.gw).ListExecutions(
            epb.ListExecutionsRequest(status=status), metadata=OPERATOR, timeout=10
        )
        return [e.execution_id for e in found.executions]

    def checked(self, since: int = 0) -> list[RecordedRequest]:
        """The requests Stripe received (from ``since`` on), each valid by Stripe's
        description and carrying the key, the pinned version and, on a POST, a marker."""
        schema = VendorSchema.load(FAITHFUL)
        sent = self.recorder.requests[since:]
        for sent_request in sent:
            schema.check(sent_request)
            assert sent_request.headers["Authorization"] == f"Bearer {KEY}"
            assert sent_request.headers["Stripe-Version"] == "2023-08-16"
            marker = sent_request.headers.get("Idempotency-Key")
            if sent_request.method == "POST":
                assert re.fullmatch(r"[0-9a-f]{64}", marker or ""), marker
            else:
                assert marker is None
        return sent


def request(operation: str, key: str, **payload: Any) -> pb.ExecuteRequest:
    call = pb.ExecuteRequest(connector_key="stripe", operation=operation, idempotency_key=key)
    call.payload.update(payload)
    return call


@asynccontextmanager
async def stripe_gateway(
    tmp_path: Path, upstream: str, *, api_key: str = KEY
) -> AsyncIterator[StripeGateway]:
    """A gateway whose default tenant's Stripe account reaches ``upstream`` through a
    recorder. Retries wait a thousandth of the declared backoff."""
    async with VendorRecorder(upstream) as recorder:
        settings = gateway_settings(
            tmp_path,
            stripe={"api_key": api_key, "base_url": recorder.url},
            reliability={"backoff_scale": 0.001},
        )
        async with running_gateway(settings) as gw:
            yield StripeGateway(gw, recorder)
