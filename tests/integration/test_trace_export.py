"""Spans reach an OTLP collector (a real gRPC TraceService on loopback)."""

from __future__ import annotations

from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.app import Gateway
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import gateway_settings


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: object
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


async def test_spans_are_exported_over_otlp(tmp_path: Path) -> None:
    collector = Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        settings = gateway_settings(tmp_path, otlp_endpoint=f"127.0.0.1:{port}", otlp_insecure=True)
        gateway = Gateway(settings, connectors=[Connector(FakeAdapter(), registered=True)])
        await gateway.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
                request = pb.ExecuteRequest(
                    connector_key="fake", operation="echo", idempotency_key="t1"
                )
                request.payload.update({"text": "hi"})
                done = await pb_grpc.ConnectorServiceStub(channel).Execute(request, timeout=5)
        finally:
            await gateway.stop(grace_s=1)  # flushes the batch of spans
    finally:
        await server.stop(None)
    spans = [
        (span, resource_spans.resource)
        for export in collector.requests
        for resource_spans in export.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    [(span, resource)] = spans
    assert span.name == "connectorgateway.v1.ConnectorService/Execute"
    attributes = {a.key: a.value for a in span.attributes}
    assert attributes["connectorgateway.connector"].string_value == "fake"
    assert attributes["rpc.grpc.status_code"].int_value == 0
    service = {a.key: a.value.string_value for a in resource.attributes}["service.name"]
    assert service == "connector-gateway"
    assert done.attempts == 1
