"""The governance layers run in the documented order on a real call."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.call import Call, Context
from gateway.interceptors.base import Layer, Next
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import gateway_settings, running_gateway

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
