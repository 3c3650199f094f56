"""Standard gRPC health (Check and Watch), reflection, spans, and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.waiting import wait_event

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_health_check_serving(fake_gateway: RunningGateway) -> None:
    stub = health_pb2_grpc.HealthStub(fake_gateway.channel)
    overall = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert overall.status == SERVING
    service = await stub.Check(
        health_pb2.HealthCheckRequest(service="connectorgateway.v1.ConnectorService"), timeout=5
    )
    assert service.status == SERVING


async def test_health_checks_leave_no_spans(fake_gateway: RunningGateway) -> None:
    stub = health_pb2_grpc.HealthStub(fake_gateway.channel)
    await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    await fake_gateway.stub.ListConnectors(pb.ListConnectorsRequest(), timeout=5)
    names = [s.name for s in fake_gateway.spans.get_finished_spans()]
    assert names == ["connectorgateway.v1.ConnectorService/ListConnectors"]


async def test_server_span_continues_callers_trace(fake_gateway: RunningGateway) -> None:
    caller = TracerProvider().get_tracer("agent")
    with caller.start_as_current_span("agent-step") as parent:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="t1")
        request.payload.update({"text": "hi"})
        await fake_gateway.stub.Execute(request, metadata=tuple(carrier.items()), timeout=5)
    [span] = fake_gateway.spans.get_finished_spans()
    assert span.kind == SpanKind.SERVER
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.attributes["rpc.grpc.status_code"] == 0
    [row] = [r for r in fake_gateway.audit_rows() if r["event_type"] == "echoed"]
    assert row["trace_id"] == format(parent.get_span_context().trace_id, "032x")


async def test_reflection_lists_connector_service(fake_gateway: RunningGateway) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(fake_gateway.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")

    async def one() -> reflection_pb2.ServerReflectionResponse:
        async for response in stub.ServerReflectionInfo(iter([request]), timeout=5):
            return response
        raise AssertionError("no reflection response")

    response = await one()
    names = {s.name for s in response.list_services_response.service}
    assert "connectorgateway.v1.ConnectorService" in names
    assert "grpc.health.v1.Health" in names


async def test_watch_sees_not_serving_and_inflight_call_finishes(tmp_path: Path) -> None:
    fake = FakeAdapter()
    fake.hold = asyncio.Event()  # the vendor answers once the test lets it
    async with running_gateway(
        gateway_settings(tmp_path), connectors=[Connector(fake, registered=True)]
    ) as gw:
        health = health_pb2_grpc.HealthStub(gw.channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        updates = aiter(watch)
        statuses = [(await anext(updates)).status]  # watching before anything else happens

        async def follow() -> None:
            async for update in updates:
                statuses.append(update.status)
                if update.status == NOT_SERVING:
                    return

        follower = asyncio.create_task(follow())
        request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="s1")
        request.payload.update({"text": "slow"})
        inflight = asyncio.ensure_future(gw.stub.Execute(request, timeout=10))
        await wait_event(fake.entered, what="the call reaching the vendor")
        stopping = asyncio.create_task(gw.gateway.stop(grace_s=5))
        await asyncio.wait_for(follower, 5)  # the gateway is stopping: NOT_SERVING
        assert not inflight.done()
        fake.hold.set()
        response = await inflight
        await stopping
        assert statuses[0] == SERVING
        assert statuses[-1] == NOT_SERVING
        assert response.attempts == 1  # the in-flight call finished during the grace period
        events = [r["event_type"] for r in gw.audit_rows()]
        assert events == ["execution_requested", "echoed"]  # flushed before exit


async def test_a_second_stop_returns_only_once_the_gateway_has_stopped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.app")
    fake = FakeAdapter()
    fake.hold = asyncio.Event()  # the vendor answers once the test lets it
    async with running_gateway(
        gateway_settings(tmp_path), connectors=[Connector(fake, registered=True)]
    ) as gw:
        request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="s2")
        request.payload.update({"text": "slow"})
        inflight = asyncio.ensure_future(gw.stub.Execute(request, timeout=10))
        await wait_event(fake.entered, what="the call reaching the vendor")
        watch = health_pb2_grpc.HealthStub(gw.channel).Watch(health_pb2.HealthCheckRequest())
        updates = aiter(watch)
        assert (await anext(updates)).status == SERVING  # watching before the stops
        first = asyncio.create_task(gw.gateway.stop(grace_s=5))
        second = asyncio.create_task(gw.gateway.stop(grace_s=5))  # a second SIGTERM, say
        assert (await anext(updates)).status == NOT_SERVING
        # Both stops are under way; the call in flight holds them.
        assert not second.done()
        fake.hold.set()
        assert (await inflight).attempts == 1
        await second
        assert "connector gateway stopped" in caplog.messages
        await first
