"""Property: whatever bytes, fields and metadata a caller sends, it never gets INTERNAL or
UNKNOWN (codes that would mean the gateway broke, or that something may have happened)."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import gateway_settings, running_gateway

FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
EXECUTE = "/connectorgateway.v1.ConnectorService/Execute"
COMPENSATE = "/connectorgateway.v1.ConnectorService/Compensate"


@pytest.fixture(scope="module")
def gateway_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real gateway in its own thread and event loop, so the property test can call it
    with the blocking gRPC client from hypothesis's synchronous test body."""
    data_dir: Path = tmp_path_factory.mktemp("property")
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    address: list[str] = []

    async def serve() -> None:
        settings_ = gateway_settings(data_dir, max_payload_bytes=4096)
        async with running_gateway(
            settings_, connectors=[Connector(FakeAdapter(), registered=True)]
        ) as gw:
            address.append(gw.address)
            stop.append(asyncio.Event())
            ready.set()
            await stop[0].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the gateway did not start"
    yield address[0]
    loop.call_soon_threadsafe(stop[0].set)
    thread.join(30)


# Every double a Struct can carry, NaN and the infinities included.
json_scalars = st.none() | st.booleans() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
names = st.sampled_from(["fake", "email", "", "FAKE", "fake ", "nope"]) | st.text(max_size=20)
operations = st.sampled_from(["echo", "lookup", "guarded", "forbidden", "unecho", ""]) | st.text(
    max_size=20
)
header_names = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}\Z").filter(
    lambda h: not h.startswith("grpc-") and h not in ("te", "content-type", "user-agent")
)
header_values = st.from_regex(r"\A[ -~]{0,60}\Z")
metadata = st.lists(
    st.tuples(
        st.sampled_from(["authorization", "x-connector-gateway-dev-caller", "traceparent"])
        | header_names,
        header_values,
    ),
    max_size=4,
)


def status_of(send: Any) -> tuple[grpc.StatusCode, str]:
    """The code a call ended with: OK, or the refusal's code and message."""
    try:
        send()
    except grpc.RpcError as error:
        return error.code(), error.details()
    return grpc.StatusCode.OK, ""


def _request(
    connector: str, operation: str, payload: dict[str, Any], key: str, approval: str
) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key=connector, operation=operation, idempotency_key=key, approval_id=approval
    )
    request.payload.update(payload)
    return request


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    connector=names,
    operation=operations,
    payload=st.dictionaries(
        st.sampled_from(["text", "count", "to", "x"]) | st.text(max_size=8), json_values, max_size=5
    ),
    key=st.text(max_size=300),
    approval=st.text(max_size=40),
    headers=metadata,
)
def test_malformed_execute_never_internal_or_unknown(
    gateway_address: str,
    connector: str,
    operation: str,
    payload: dict[str, Any],
    key: str,
    approval: str,
    headers: list[tuple[str, str]],
) -> None:
    with grpc.insecure_channel(gateway_address) as channel:
        call = channel.unary_unary(
            EXECUTE,
            request_serializer=pb.ExecuteRequest.SerializeToString,
            response_deserializer=pb.ExecuteResponse.FromString,
        )
        request = _request(connector, operation, payload, key, approval)
        code, message = status_of(lambda: call(request, metadata=headers, timeout=10))
    assert code not in FORBIDDEN, (code, message)


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    operation=st.sampled_from(["echo", "lookup", "guarded", "forbidden"]),
    key=st.uuids().map(lambda u: f"property-{u.hex}"),
    payload=st.dictionaries(
        st.sampled_from(["text", "count"]) | st.text(max_size=8), json_values, max_size=5
    ),
)
def test_any_payload_of_a_known_operation_never_internal_or_unknown(
    gateway_address: str, operation: str, key: str, payload: dict[str, Any]
) -> None:
    """Past the connector, operation and key checks, whatever the payload holds; a number JSON
    cannot carry (NaN, Infinity) is always the caller's INVALID_ARGUMENT."""
    with grpc.insecure_channel(gateway_address) as channel:
        call = channel.unary_unary(
            EXECUTE,
            request_serializer=pb.ExecuteRequest.SerializeToString,
            response_deserializer=pb.ExecuteResponse.FromString,
        )
        request = _request("fake", operation, payload, key, "")
        code, message = status_of(lambda: call(request, timeout=10))
    assert code not in FORBIDDEN, (code, message)
    if _non_finite(payload):
        assert code is grpc.StatusCode.INVALID_ARGUMENT, (code, message)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=200), compensate=st.booleans(), headers=metadata)
def test_arbitrary_bytes_never_internal_or_unknown(
    gateway_address: str, raw: bytes, compensate: bool, headers: list[tuple[str, str]]
) -> None:
    with grpc.insecure_channel(gateway_address) as channel:
        call = channel.unary_unary(COMPENSATE if compensate else EXECUTE)
        code, message = status_of(lambda: call(raw, metadata=headers, timeout=10))
    assert code not in FORBIDDEN, (code, message)
