"""Every caller mistake gets a precise code and reason, no vendor contact, and an audit row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal

EXECUTE = "/connectorgateway.v1.ConnectorService/Execute"


def _execute(
    connector: str = "fake", operation: str = "echo", payload: Any = None, key: str = "k-1"
) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key=connector, operation=operation, idempotency_key=key)
    request.payload.update({"text": "hi"} if payload is None else payload)
    return request


CASES = [
    (
        "unknown connector",
        _execute(connector="nope"),
        grpc.StatusCode.NOT_FOUND,
        "CONNECTOR_NOT_FOUND",
        None,
    ),
    (
        "missing connector",
        _execute(connector=""),
        grpc.StatusCode.INVALID_ARGUMENT,
        "MISSING_FIELD",
        "connector_key",
    ),
    (
        "unknown operation",
        _execute(operation="explode"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNKNOWN_OPERATION",
        "operation",
    ),
    (
        "missing field",
        _execute(payload={"count": 2}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload.text",
    ),
    (
        "wrong type",
        _execute(payload={"text": 5}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload.text",
    ),
    (
        "unknown field",
        _execute(payload={"text": "a", "bcc_all": True}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload.bcc_all",
    ),
    (
        "fractional integer",
        _execute(payload={"text": "a", "count": 1.5}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload.count",
    ),
    (
        "string for integer",
        _execute(payload={"text": "a", "count": "3"}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload.count",
    ),
    (
        "integer beyond 2^53",
        _execute(payload={"text": "a", "count": 2.0**60}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload.count",
    ),
    (
        "missing idempotency key",
        _execute(key=""),
        grpc.StatusCode.INVALID_ARGUMENT,
        "MISSING_FIELD",
        "idempotency_key",
    ),
    (
        "idempotency key with spaces",
        _execute(key="a b"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FIELD",
        "idempotency_key",
    ),
    (
        "payload above the limit",
        _execute(payload={"text": "x" * 5000}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAYLOAD_TOO_LARGE",
        "payload",
    ),
    (
        "class C operation",
        _execute(operation="forbidden"),
        grpc.StatusCode.PERMISSION_DENIED,
        "POLICY_FORBIDDEN",
        None,
    ),
    (
        "class B without approval",
        _execute(operation="guarded"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "APPROVAL_REQUIRED",
        None,
    ),
]


@pytest.mark.parametrize(
    ("request_", "code", "reason", "field"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_refused_with_code_reason_and_audit_row(
    fake_gateway: RunningGateway,
    fake: FakeAdapter,
    request_: pb.ExecuteRequest,
    code: grpc.StatusCode,
    reason: str,
    field: str | None,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(request_, timeout=5)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason, seen.domain) == (code, reason, "connectorgateway")
    if field is not None:
        assert field in [f for f, _ in seen.violations]
    assert fake.calls == []  # the vendor was never contacted
    rows = fake_gateway.audit_rows()
    assert len(rows) == 1
    assert rows[0]["status_code"] == code.name
    assert rows[0]["reason"] == reason
    assert rows[0]["outcome"] == "refused"
    expected_event = {
        "POLICY_FORBIDDEN": "policy_denied",
        "APPROVAL_REQUIRED": "approval_requested",
    }.get(reason, "request_rejected")
    assert rows[0]["event_type"] == expected_event


async def test_bytes_that_do_not_parse_are_malformed_request(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    raw = fake_gateway.channel.unary_unary(EXECUTE)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await raw(b"\x0a\xff\xff\xff\xff", timeout=5)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST")
    assert fake.calls == []
    [row] = fake_gateway.audit_rows()
    assert (row["reason"], row["outcome"]) == ("MALFORMED_REQUEST", "refused")


async def test_message_above_receive_limit_is_refused_by_grpcio(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    # Above the server's receive limit (payload limit plus a margin) grpcio refuses the
    # message itself, before any gateway code runs: documented in docs/errors.md.
    limit = fake_gateway.gateway.settings.max_receive_bytes
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(_execute(payload={"text": "x" * (limit + 10)}), timeout=5)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert fake.calls == []


async def test_integral_float_is_accepted_as_integer(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    response = await fake_gateway.stub.Execute(
        _execute(payload={"text": "a", "count": 3.0}), timeout=5
    )
    assert fake.calls == [("echo", {"text": "a", "count": 3})]
    assert response.attempts == 1
    assert response.result["echo"]["count"] == 3


async def test_describe_unknown_connector_is_not_found(fake_gateway: RunningGateway) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.DescribeConnector(
            pb.DescribeConnectorRequest(connector_key="nope"), timeout=5
        )
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.NOT_FOUND, "CONNECTOR_NOT_FOUND")


async def test_payload_must_be_an_object_struct(fake_gateway: RunningGateway) -> None:
    request = _execute()
    request.payload.Clear()
    request.payload.fields["text"].struct_value.CopyFrom(struct_pb2.Struct())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(request, timeout=5)
    assert refusal(caught.value).reason == "INVALID_PAYLOAD"


async def test_unconfigured_connector_is_refused_before_any_approval(tmp_path: Path) -> None:
    """A connector whose account cannot act (a phone number without its access token) never
    opens an approval request."""
    settings = gateway_settings(tmp_path, whatsapp={"phone_number_id": "106540352242922"})
    async with running_gateway(settings) as gw:
        request = pb.ExecuteRequest(
            connector_key="whatsapp", operation="send_text", idempotency_key="w1"
        )
        request.payload.update({"to": "+14155550123", "text": {"body": "hello"}})
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(request, timeout=5)
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "CONNECTOR_NOT_CONFIGURED",
        )
        [row] = gw.audit_rows()
        assert (row["event_type"], row["connector_key"]) == ("request_rejected", "whatsapp")
