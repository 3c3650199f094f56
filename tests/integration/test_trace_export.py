"""Spans reach an OTLP collector (a real gRPC TraceService on loopback), configured by the
gateway's settings or by the standard ``OTEL_*`` environment variables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.app import Gateway
from gateway.registry import Connector
from gateway.settings import Settings
from tests.support import fault_vendor as fv
from tests.support.fake_adapter import FakeAdapter
from tests.support.fault_vendor import fault_vendor
from tests.support.gateway import gateway_settings
from tests.support.http_fake_adapter import HttpFakeAdapter

pytestmark = pytest.mark.timeout(60)

AGENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
AGENT_SPAN = "00f067aa0ba902b7"


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace receiver that keeps every export it is sent."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.address = ""
        self._received = asyncio.Condition()

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: object
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.requests.append(request)
        async with self._received:
            self._received.notify_all()
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[tuple[Span, Resource]]:
        return [
            (span, resource_spans.resource)
            for export in self.requests
            for resource_spans in export.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    async def wait_for_trace(self, trace_id: str, count: int) -> list[tuple[Span, Resource]]:
        """The spans of ``trace_id``, once at least ``count`` have arrived."""

        def of_trace() -> list[tuple[Span, Resource]]:
            return [(s, r) for s, r in self.spans() if s.trace_id.hex() == trace_id]

        try:
            async with asyncio.timeout(10), self._received:
                await self._received.wait_for(lambda: len(of_trace()) >= count)
        except TimeoutError:
            raise AssertionError(f"{len(of_trace())} spans of the trace, not {count}") from None
        return of_trace()


@asynccontextmanager
async def collector() -> AsyncIterator[Collector]:
    receiver = Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    receiver.address = f"127.0.0.1:{port}"
    await server.start()
    try:
        yield receiver
    finally:
        await server.stop(None)


def attributes(values: list[KeyValue]) -> dict[str, object]:
    found: dict[str, object] = {}
    for item in values:
        kind = item.value.WhichOneof("value")
        found[item.key] = getattr(item.value, kind) if kind else None
    return found


@asynccontextmanager
async def serving(settings: Settings, connector: Connector) -> AsyncIterator[Gateway]:
    gateway = Gateway(settings, connectors=[connector])
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop(grace_s=1)  # flushes the batch of spans


async def test_spans_are_exported_over_otlp(tmp_path: Path) -> None:
    async with collector() as receiver:
        settings = gateway_settings(tmp_path, otlp_endpoint=receiver.address, otlp_insecure=True)
        async with (
            serving(settings, Connector(FakeAdapter(), registered=True)) as gateway,
            grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel,
        ):
            request = pb.ExecuteRequest(
                connector_key="fake", operation="echo", idempotency_key="t1"
            )
            request.payload.update({"text": "hi"})
            done = await pb_grpc.ConnectorServiceStub(channel).Execute(request, timeout=5)
    [(span, resource)] = receiver.spans()
    assert span.name == "connectorgateway.v1.ConnectorService/Execute"
    found = attributes(list(span.attributes))
    assert found["connectorgateway.connector"] == "fake"
    assert found["rpc.grpc.status_code"] == 0
    assert attributes(list(resource.attributes))["service.name"] == "connector-gateway"
    assert done.attempts == 1


async def test_the_otel_variables_export_the_agents_trace_with_its_vendor_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with collector() as receiver, fault_vendor() as vendor:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://{receiver.address}")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-gateway")
        # New traces are never sampled here; the agent's sampled trace is continued.
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
        monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # milliseconds
        faulty = Connector(HttpFakeAdapter(vendor.url, api_key="sk-export-secret"), registered=True)
        vendor.script(fv.status(503))  # the first attempt fails, the retry succeeds
        async with (
            serving(gateway_settings(tmp_path), faulty) as gateway,
            grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel,
        ):
            stub = pb_grpc.ConnectorServiceStub(channel)
            request = pb.ExecuteRequest(connector_key="faulty", operation="charge")
            request.idempotency_key = "charge-1"
            request.payload.update({"amount": 100, "note": "for Jane Roe"})
            traceparent = f"00-{AGENT_TRACE}-{AGENT_SPAN}-01"
            done = await stub.Execute(request, metadata=(("traceparent", traceparent),), timeout=5)
            assert done.attempts == 2

            exported = await receiver.wait_for_trace(AGENT_TRACE, 3)

            request.idempotency_key = "charge-2"  # a trace of the gateway's own: ratio 0
            await stub.Execute(request, timeout=5)
    [server] = [s for s, _ in exported if s.kind == Span.SPAN_KIND_SERVER]
    attempts = sorted(
        (s for s, _ in exported if s.kind == Span.SPAN_KIND_CLIENT),
        key=lambda s: s.start_time_unix_nano,
    )
    assert server.parent_span_id.hex() == AGENT_SPAN
    assert [s.parent_span_id for s in attempts] == [server.span_id] * 2
    assert [
        (found["connectorgateway.attempt"], found["connectorgateway.outcome"])
        for found in (attributes(list(s.attributes)) for s in attempts)
    ] == [(1, "VENDOR_UNAVAILABLE"), (2, "OK")]
    assert [r.headers["traceparent"] for r in vendor.requests[:2]] == [
        f"00-{AGENT_TRACE}-{s.span_id.hex()}-01" for s in attempts
    ]
    for _, resource in exported:
        assert attributes(list(resource.attributes))["service.name"] == "billing-gateway"
    # Stopping flushed every span: the gateway's own trace was not sampled.
    assert {s.trace_id.hex() for s, _ in receiver.spans()} == {AGENT_TRACE}
    assert "Jane Roe" not in str(receiver.requests)
    assert "sk-export-secret" not in str(receiver.requests)


async def test_the_gateways_own_endpoint_wins_over_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with collector() as own, collector() as standard:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://{standard.address}")
        settings = gateway_settings(tmp_path, otlp_endpoint=own.address, otlp_insecure=True)
        async with (
            serving(settings, Connector(FakeAdapter(), registered=True)) as gateway,
            grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel,
        ):
            request = pb.ExecuteRequest(
                connector_key="fake", operation="echo", idempotency_key="t1"
            )
            request.payload.update({"text": "hi"})
            await pb_grpc.ConnectorServiceStub(channel).Execute(request, timeout=5)
    assert len(own.spans()) == 1
    assert standard.requests == []
