"""Deadlines, cancellation and unexpected faults, observed as a caller and in the audit log."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.call import Call, Context
from gateway.errors import VendorUnavailable
from gateway.interceptors.base import Layer, Next
from gateway.registry import Connector
from tests.support.fake_adapter import FAKE_METADATA, FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.support.waiting import wait_event

DEADLINE_S = 10.0


def echo(operation: str = "echo", key: str = "d-1") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation=operation, idempotency_key=key)
    request.payload.update({"text": "hi"})
    return request


@pytest.fixture
async def short_timeout_gateway(
    tmp_path: Path,
) -> AsyncIterator[tuple[RunningGateway, FakeAdapter]]:
    """The fake connector declares a 200 ms per-attempt timeout; calls without a deadline
    get at most 400 ms."""
    fake = FakeAdapter(dataclasses.replace(FAKE_METADATA, timeout_ms=200))
    settings = gateway_settings(tmp_path, max_call_deadline_ms=400)
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield gw, fake


async def test_attempt_bounded_by_connector_timeout(
    short_timeout_gateway: tuple[RunningGateway, FakeAdapter],
) -> None:
    gw, fake = short_timeout_gateway
    fake.stall_s = 2.0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(echo(), timeout=5)
    seen = refusal(caught.value)
    # A write that may have reached the vendor has an unknown outcome, never a plain timeout.
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert seen.metadata["attempts"] == "1"
    assert seen.metadata["timeout_ms"] == "200"
    assert fake.contexts[0].timeout_s == pytest.approx(0.2, abs=0.01)
    [_, outcome] = gw.audit_rows()
    assert (outcome["event_type"], outcome["outcome"]) == ("echo_failed", "unknown")
    metrics = await gw.stub.Metrics(pb.MetricsRequest(connector_key="fake"), timeout=5)
    assert metrics.connectors[0].timeouts == 1
    assert metrics.connectors[0].failures_by_code["UNKNOWN"] == 1


async def test_call_without_deadline_gets_configured_maximum(
    short_timeout_gateway: tuple[RunningGateway, FakeAdapter],
) -> None:
    gw, fake = short_timeout_gateway
    fake.stall_s = 2.0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(echo("lookup", key=""))  # no deadline at all
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED")
    assert seen.metadata["attempts"] == "1"
    # The vendor got the remaining time, capped by the per-attempt timeout.
    assert 0 < fake.contexts[0].timeout_s <= 0.2


async def test_a_read_cut_off_by_the_deadline_backstop_is_deadline_exceeded(
    tmp_path: Path,
) -> None:
    """The backstop, halfway into the reserve, answers for a call still inside the gateway when
    it fires. A read changes nothing at the vendor, so it is DEADLINE_EXCEEDED there too, never
    an unknown outcome."""
    fake = FakeAdapter()
    fake.hold = asyncio.Event()  # the vendor has the read and never answers
    # Without a deadline of its own the call gets 300 ms, and no client timer races the
    # answer. Half the 10 ms reserve is shorter than the guard on the attempt's timeout, so
    # the backstop fires first.
    settings = gateway_settings(tmp_path, max_call_deadline_ms=300, deadline_reserve_ms=10)
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(echo("lookup", key=""))
        rows = gw.audit_rows()
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED")
    assert seen.metadata["attempts"] == "1"
    assert len(fake.calls) == 1
    [_, outcome] = rows
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "DEADLINE_EXCEEDED")


class TimeLeft:
    """Takes the deadline layer's place, notes the time the caller's deadline leaves as the
    call reaches it (the server's own view, which the client's clock does not blur), and
    runs the layer."""

    name = "deadline"

    def __init__(self) -> None:
        self.seen_s: float | None = None
        self._deadline: Layer | None = None

    def wrap(self, layers: list[Layer]) -> list[Layer]:
        at = next(i for i, layer in enumerate(layers) if layer.name == self.name)
        self._deadline = layers[at]
        return [*layers[:at], self, *layers[at + 1 :]]

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        assert self._deadline is not None
        self.seen_s = ctx.time_remaining()
        return await self._deadline.intercept(call, call_next, ctx)


async def test_vendor_gets_remaining_deadline_as_its_timeout(tmp_path: Path) -> None:
    # The connector's own per-attempt timeout is far longer than the call's deadline.
    fake = FakeAdapter(dataclasses.replace(FAKE_METADATA, timeout_ms=60_000))
    time_left = TimeLeft()
    settings = gateway_settings(tmp_path)
    async with running_gateway(
        settings, connectors=[Connector(fake, registered=True)], wrap_layers=time_left.wrap
    ) as gw:
        await gw.stub.Execute(echo(), timeout=DEADLINE_S)
    assert time_left.seen_s is not None
    # What the deadline left, minus the 50 ms reserve, minus the moments before the vendor
    # was called (generously bounded: the deadline is the test's own).
    assert time_left.seen_s - 5 < fake.contexts[0].timeout_s <= time_left.seen_s - 0.05


async def test_deadline_shorter_than_reserve_touches_nothing(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(echo(), timeout=0.03)
    # Either the gateway's precise answer or the client's own timer: never a vendor call.
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    [refused] = await fake_gateway.wait_audit_rows(1)
    assert (refused["status_code"], refused["reason"]) == ("DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED")
    assert fake.calls == []


async def test_caller_going_away_still_leaves_outcome_row(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    fake.hold = asyncio.Event()  # the vendor never answers
    call = fake_gateway.stub.Execute(echo(), timeout=5)
    await wait_event(fake.entered, what="the call reaching the vendor")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    rows = await fake_gateway.wait_audit_rows(2)
    assert [r["event_type"] for r in rows] == ["execution_requested", "echo_failed"]
    assert (rows[1]["outcome"], rows[1]["status_code"]) == ("unknown", "CANCELLED")
    assert rows[1]["reason"] == "OUTCOME_UNKNOWN"


async def test_unexpected_fault_is_internal_with_trace_id_only(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    fake.failures = [RuntimeError("secret-token-123 leaked in a stack trace")]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(echo(), timeout=5)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.INTERNAL, "INTERNAL")
    [span] = await fake_gateway.spans.wait_for(1)  # it ends once the status has left
    trace_id = format(span.context.trace_id, "032x")
    assert trace_id in seen.message
    assert seen.metadata["trace_id"] == trace_id
    assert "secret-token-123" not in seen.message
    assert "RuntimeError" not in seen.message
    [_, outcome] = fake_gateway.audit_rows()
    assert (outcome["status_code"], outcome["trace_id"]) == ("INTERNAL", trace_id)
    assert "secret-token-123" not in str(outcome)


async def test_retryable_refusal_carries_retry_info_and_pushback(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    fake.failures = [
        VendorUnavailable("vendor is down", metadata={"vendor_code": "503"}) for _ in range(4)
    ]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(echo(), timeout=5)
    seen = refusal(caught.value)
    # Refused before acting, so retried as declared (3 retries), then answered.
    assert len(fake.calls) == 4
    assert seen.metadata["attempts"] == "4"
    assert seen.metadata["retries_stopped"] == "retries_exhausted"
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNAVAILABLE, "VENDOR_UNAVAILABLE")
    assert seen.retry_delay_ms == 1000
    assert seen.trailers["grpc-retry-pushback-ms"] == "1000"
    assert seen.metadata["vendor_code"] == "503"
    health = await fake_gateway.stub.Health(pb.HealthRequest(connector_key="fake"), timeout=5)
    # One failed call in the window; the breaker (5 failures in a row) is still closed.
    assert health.connectors[0].status == pb.CONNECTOR_STATUS_DEGRADED


async def test_non_retryable_refusal_has_no_pushback(fake_gateway: RunningGateway) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(echo("forbidden"), timeout=5)
    seen = refusal(caught.value)
    assert seen.retry_delay_ms is None
    assert "grpc-retry-pushback-ms" not in seen.trailers
