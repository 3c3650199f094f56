"""The governance layers run in the documented order on a real call, over gRPC and HTTP."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.call import Call, Context
from gateway.interceptors.base import Layer, Next
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import gateway_settings, running_gateway
from tests.support.http import OPERATOR, call

AGENT = {DEV_CALLER_HEADER: "local-agent"}

EXPECTED = [
    "telemetry",
    "status_mapping",
    "audit",
    "authentication",
    "validation",
    "deadline",
    "authorization",
    "replay",
    "policy",
]


class Recording:
    def __init__(self, inner: Layer, seen: list[str]) -> None:
        self.name = inner.name
        self._inner = inner
        self._seen = seen

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        self._seen.append(self.name)
        return await self._inner.intercept(call, call_next, ctx)


async def test_layers_run_in_documented_order(tmp_path: Path) -> None:
    seen: list[str] = []
    fake = FakeAdapter()
    async with running_gateway(
        gateway_settings(tmp_path),
        connectors=[Connector(fake, registered=True)],
        wrap_layers=lambda layers: [Recording(layer, seen) for layer in layers],
    ) as gw:
        request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="o1")
        request.payload.update({"text": "hi"})
        await gw.stub.Execute(request, timeout=5)
        assert seen == EXPECTED
        assert len(fake.calls) == 1

        # A repeat is answered by the replay layer, before any policy class or approval.
        seen.clear()
        replayed = await gw.stub.Execute(request, timeout=5)
        assert replayed.replayed
        assert seen == EXPECTED[: EXPECTED.index("replay") + 1]
        assert len(fake.calls) == 1

        # A refusal stops at the layer that refuses: policy ran, nothing after it.
        seen.clear()
        request.operation = "forbidden"
        request.idempotency_key = "o2"
        with pytest.raises(grpc.aio.AioRpcError):
            await gw.stub.Execute(request, timeout=5)
        assert seen == EXPECTED
        assert len(fake.calls) == 1


async def test_http_requests_run_the_same_layers_in_the_same_order(tmp_path: Path) -> None:
    seen: list[str] = []
    async with running_gateway(
        gateway_settings(tmp_path),
        connectors=[Connector(FakeAdapter(), registered=True)],
        wrap_layers=lambda layers: [Recording(layer, seen) for layer in layers],
    ) as gw:
        listed = await call(gw, "GET", "/v1/approvals", headers=OPERATOR)
        assert listed.status == 200
        assert listed.body == {"approvals": [], "next_page_token": ""}
        assert seen == EXPECTED

        # The operator check is the chain's authorization layer, as for gRPC: a caller that
        # is not an operator stops there, and the audit layer outside records the refusal.
        seen.clear()
        refused = await call(gw, "GET", "/v1/approvals", headers=AGENT)
        assert (refused.status, refused.reason) == (403, "OPERATOR_REQUIRED")
        assert seen == EXPECTED[: EXPECTED.index("authorization") + 1]
        row = gw.audit_rows()[-1]
        assert (row["event_type"], row["caller"], row["reason"]) == (
            "request_rejected",
            "local-agent",
            "OPERATOR_REQUIRED",
        )
        assert row["rpc_method"] == "HTTP GET /v1/approvals"

        # A malformed id is the validation layer's refusal, before the deadline is set.
        seen.clear()
        bad = await call(gw, "GET", "/v1/approvals/not%20an%20id", headers=OPERATOR)
        assert (bad.status, bad.reason) == (400, "INVALID_FIELD")
        assert [v["field"] for v in bad.body["error"]["violations"]] == ["approval_id"]
        assert seen == EXPECTED[: EXPECTED.index("validation") + 1]

        # Requests the chain never sees (no such route) are refused before it.
        seen.clear()
        missing = await call(gw, "GET", "/v1/nothing-here", headers=OPERATOR)
        assert (missing.status, missing.reason) == (404, "ROUTE_NOT_FOUND")
        assert seen == []
