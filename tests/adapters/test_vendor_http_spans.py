"""The shared HTTP client's span of a request: made only within a traced attempt (never for a
health probe or an operator's lookup), ended with the error's reason and phase when the
request fails before any answer, and named in the request's ``traceparent``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.http import VendorHttpClient
from gateway.contract import DataClassification
from gateway.errors import VendorUnavailable
from gateway.vendor_trace import VendorAttempt, attempt_scope
from tests.support.fault_vendor import FaultVendor, fault_vendor
from tests.support.smtp_peers import free_port

pytestmark = pytest.mark.timeout(10)

SECRET = "sk_test_SpanClientSecret"


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exported: InMemorySpanExporter) -> trace.Tracer:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    return provider.get_tracer("test")


@pytest.fixture
async def vendor() -> AsyncIterator[FaultVendor]:
    async with fault_vendor() as running:
        yield running


def attempt(tracer: trace.Tracer, number: int = 1) -> VendorAttempt:
    return VendorAttempt(tracer, "acme", "charge", number, DataClassification.RESTRICTED)


async def test_outside_an_attempt_a_request_makes_no_span(
    vendor: FaultVendor, tracer: trace.Tracer, exported: InMemorySpanExporter
) -> None:
    client = VendorHttpClient("acme", vendor.url, headers={"Authorization": f"Bearer {SECRET}"})
    await client.start()
    try:
        with tracer.start_as_current_span("probe") as probe:
            await client.request("GET", "/v1/balance", timeout_s=2)
    finally:
        await client.close()
    [only] = exported.get_finished_spans()
    assert only.name == "probe"
    context = probe.get_span_context()
    assert vendor.requests[0].headers["traceparent"] == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    )


async def test_a_request_that_never_connects_ends_its_span_with_the_reason_and_phase(
    tracer: trace.Tracer, exported: InMemorySpanExporter
) -> None:
    port = free_port()  # nothing listens there
    client = VendorHttpClient("acme", f"http://127.0.0.1:{port}/api/v2")
    await client.start()
    try:
        with (
            tracer.start_as_current_span("execute"),
            attempt_scope(attempt(tracer, 2)),
            pytest.raises(VendorUnavailable),
        ):
            await client.request("POST", "/charges?amount=5", json={"card": SECRET}, timeout_s=2)
    finally:
        await client.close()
    request, _ = exported.get_finished_spans()
    assert dict(request.attributes or {}) == {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": port,
        "connectorgateway.connector": "acme",
        "connectorgateway.operation": "charge",
        "connectorgateway.attempt": 2,
        "connectorgateway.outcome": "VENDOR_UNAVAILABLE",
        "error.type": "VENDOR_UNAVAILABLE",
        "connectorgateway.phase": "connect",
    }  # a restricted connector's span has no path
    assert request.status.description == "VENDOR_UNAVAILABLE"
    assert request.events == ()  # no exception text, which could quote the URL
