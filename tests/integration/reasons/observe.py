"""What a caller observes of a refusal, over gRPC or HTTP, and the gateways scenarios run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.fault_vendor import FaultVendor, fault_vendor
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import Answer
from tests.support.http_fake_adapter import HttpFakeAdapter
from tests.support.rpc import refusal
from tests.support.tokens import TokenKit, token_kit

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)
PUSHBACK = "grpc-retry-pushback-ms"


@dataclass
class Observed:
    """One refusal as its caller saw it, and the audit trail right after it."""

    code: grpc.StatusCode
    reason: str
    message: str
    metadata: dict[str, str]
    audit_rows: list[dict[str, Any]]
    domain: str = ""  # gRPC's ErrorInfo.domain; an HTTP body has none
    fields: list[str] = field(default_factory=list)  # BadRequest's field names
    retry_delay_ms: int | None = None  # RetryInfo, or Retry-After in milliseconds
    pushback_ms: str | None = None  # gRPC's grpc-retry-pushback-ms trailer
    http_status: int | None = None  # for refusals answered over HTTP
    headers: dict[str, str] = field(default_factory=dict)  # HTTP response headers

    def audit_row(self) -> dict[str, Any]:
        """The last audit row recording this refusal's reason."""
        rows = [r for r in self.audit_rows if r["reason"] == self.reason]
        assert rows, f"no audit row with reason {self.reason}"
        return rows[-1]


async def refused_rpc(call: Awaitable[Any], gw: RunningGateway) -> Observed:
    """Awaits a gRPC call that must be refused; what its caller saw, and the audit rows."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    seen = refusal(caught.value)
    return Observed(
        code=seen.code,
        reason=seen.reason,
        message=seen.message,
        metadata=seen.metadata,
        audit_rows=gw.audit_rows(),
        domain=seen.domain,
        fields=[name for name, _ in seen.violations],
        retry_delay_ms=seen.retry_delay_ms,
        pushback_ms=seen.trailers.get(PUSHBACK),
    )


def refused_http(answer: Answer, gw: RunningGateway) -> Observed:
    """An HTTP refusal (the JSON error body and its headers), and the audit rows."""
    assert isinstance(answer.body, dict), answer
    error = answer.body["error"]
    retry_after = answer.headers.get("Retry-After")
    return Observed(
        code=grpc.StatusCode[error["code"]],
        reason=error["reason"],
        message=error["message"],
        metadata=dict(error["metadata"]),
        audit_rows=gw.audit_rows(),
        retry_delay_ms=int(retry_after) * 1000 if retry_after is not None else None,
        http_status=answer.status,
        headers=answer.headers,
    )


def echo(key: str, text: str = "hi", operation: str = "echo") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation=operation, idempotency_key=key)
    request.payload.update({"text": text})
    return request


def guarded(key: str, text: str = "pay the invoice", approval_id: str = "") -> pb.ExecuteRequest:
    """A class B call of the fake connector."""
    request = echo(key, text, operation="guarded")
    request.approval_id = approval_id
    return request


def approvals(gw: RunningGateway) -> apb_grpc.ApprovalServiceStub:
    return apb_grpc.ApprovalServiceStub(gw.channel)


def executions(gw: RunningGateway) -> epb_grpc.ExecutionServiceStub:
    return epb_grpc.ExecutionServiceStub(gw.channel)


async def approval_asked(gw: RunningGateway, request: pb.ExecuteRequest) -> str:
    """Sends a class B call without a usable approval; the approval id it is refused with."""
    seen = await refused_rpc(gw.stub.Execute(request, metadata=AGENT, timeout=10), gw)
    assert seen.reason == "APPROVAL_REQUIRED", seen
    return seen.metadata["approval_id"]


async def granted(gw: RunningGateway, request: pb.ExecuteRequest) -> str:
    """Asks for an approval of ``request`` and has the operator grant it."""
    approval_id = await approval_asked(gw, request)
    await approvals(gw).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=approval_id, note="fine"),
        metadata=OPERATOR,
        timeout=10,
    )
    return approval_id


@asynccontextmanager
async def fake_rig(
    tmp_path: Path, fake: FakeAdapter | None = None, **settings: Any
) -> AsyncIterator[tuple[RunningGateway, FakeAdapter]]:
    """A development-mode gateway serving the fake connector."""
    adapter = fake or FakeAdapter()
    config = gateway_settings(tmp_path, **{"max_payload_bytes": 4096, **settings})
    async with running_gateway(config, connectors=[Connector(adapter, registered=True)]) as gw:
        yield gw, adapter


@asynccontextmanager
async def faulty_rig(
    tmp_path: Path, *, reliability: dict[str, Any] | None = None, **settings: Any
) -> AsyncIterator[tuple[RunningGateway, FaultVendor, HttpFakeAdapter]]:
    """A gateway whose ``faulty`` connector speaks HTTP to a fault-injecting vendor."""
    async with fault_vendor() as vendor:
        adapter = HttpFakeAdapter(vendor.url)
        config = gateway_settings(
            tmp_path,
            reliability={
                "backoff_scale": 0.001,
                "rate_limits": {"faulty": {"per_second": 1000, "burst": 1000}},
                **(reliability or {}),
            },
            **settings,
        )
        async with running_gateway(config, connectors=[Connector(adapter, registered=True)]) as gw:
            yield gw, vendor, adapter


@asynccontextmanager
async def enforced_rig(
    tmp_path: Path,
) -> AsyncIterator[tuple[RunningGateway, TokenKit, FakeAdapter]]:
    """A gateway that authenticates bearer tokens against the test policy."""
    kit = token_kit(tmp_path)
    fake = FakeAdapter()
    settings = gateway_settings(tmp_path / "var", auth=kit.auth_settings())
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield gw, kit, fake


Scenario = Callable[[Path], Awaitable[Observed]]
