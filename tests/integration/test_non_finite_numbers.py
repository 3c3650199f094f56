"""NaN and Infinity have no JSON form: anywhere in a payload, even in a field the operation
does not know, they are the caller's INVALID_PAYLOAD naming the field path, audited."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway
from tests.support.rpc import refusal

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"text": "hi", "a": {"b": [1, NAN]}}, "payload.a.b.1"),
        ({"text": "hi", "count": INF}, "payload.count"),
        ({"text": "hi", "deep": [{"x": [[-INF]]}]}, "payload.deep.0.x.0.0"),
        ({"text": NAN}, "payload.text"),
    ],
    ids=["nan in an unknown field", "infinity", "minus infinity deep down", "nan for a string"],
)
async def test_non_finite_number_is_invalid_payload_naming_the_field(
    fake_gateway: RunningGateway, fake: FakeAdapter, payload: dict[str, Any], path: str
) -> None:
    for operation, key in (("echo", "k1"), ("lookup", "")):  # a write and a read
        request = pb.ExecuteRequest(connector_key="fake", operation=operation, idempotency_key=key)
        request.payload.update(payload)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await fake_gateway.stub.Execute(request, timeout=5)
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
        assert [field for field, _ in seen.violations] == [path]
        assert "finite" in seen.message
    assert fake.calls == []
    rows = fake_gateway.audit_rows()
    assert [(r["event_type"], r["outcome"], r["reason"]) for r in rows] == [
        ("request_rejected", "refused", "INVALID_PAYLOAD")
    ] * 2
    assert rows[0]["operation"] == "echo"
