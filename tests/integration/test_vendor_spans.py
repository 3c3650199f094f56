"""One span per vendor attempt, under the gateway's server span: an HTTP request through the
shared client (whose ``traceparent`` names that span) or an SMTP message, retries included,
saying which connector, operation and attempt it was and how it ended, and holding nothing of
the payload, the credentials or the query string."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import grpc
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.contract import DataClassification
from gateway.registry import Connector
from tests.support import fault_vendor as fv
from tests.support.fault_vendor import FaultVendor, fault_vendor
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http_fake_adapter import FAULTY_METADATA, HttpFakeAdapter
from tests.support.rpc import refusal

pytestmark = pytest.mark.timeout(60)

API_KEY = "sk_live_SpanSecret42"
NOTE = "passport PX9931 of Jane Roe"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
AGENT_SPAN = "00f067aa0ba902b7"
PERSONAL = dataclasses.replace(FAULTY_METADATA, data_classification=DataClassification.CONFIDENTIAL)


def traceparent(trace_id: str = TRACE_ID, span_id: str = AGENT_SPAN, flags: str = "01") -> str:
    return f"00-{trace_id}-{span_id}-{flags}"


def hex_id(span: ReadableSpan) -> str:
    return f"{span.context.span_id:016x}"


def attempt_spans(spans: Sequence[ReadableSpan]) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The gateway's server span and its vendor attempt spans, oldest first."""
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    attempts = sorted((s for s in spans if s.kind is SpanKind.CLIENT), key=lambda s: s.start_time)
    return server, attempts


def every_attribute_text(spans: Sequence[ReadableSpan]) -> str:
    return " ".join(
        f"{span.name} {dict(span.attributes or {})} {span.status.description} "
        f"{[(e.name, dict(e.attributes or {})) for e in span.events]}"
        for span in spans
    )


@pytest.fixture
async def vendor() -> AsyncIterator[FaultVendor]:
    async with fault_vendor() as running:
        yield running


@pytest.fixture
async def internal(tmp_path: Path, vendor: FaultVendor) -> AsyncIterator[RunningGateway]:
    adapter = HttpFakeAdapter(vendor.url, api_key=API_KEY)
    settings = gateway_settings(tmp_path)
    async with running_gateway(settings, connectors=[Connector(adapter, registered=True)]) as gw:
        yield gw


@pytest.fixture
async def confidential(tmp_path: Path, vendor: FaultVendor) -> AsyncIterator[RunningGateway]:
    adapter = HttpFakeAdapter(vendor.url, api_key=API_KEY, metadata=PERSONAL)
    settings = gateway_settings(tmp_path)
    async with running_gateway(settings, connectors=[Connector(adapter, registered=True)]) as gw:
        yield gw


async def test_each_http_attempt_is_a_child_span_whose_context_the_vendor_receives(
    internal: RunningGateway, vendor: FaultVendor
) -> None:
    vendor.script(fv.status(503), fv.status(503))  # then the vendor answers
    request = pb.ExecuteRequest(connector_key="faulty", operation="charge", idempotency_key="c1")
    request.payload.update({"amount": 100, "note": NOTE})
    done = await internal.stub.Execute(
        request, metadata=(("traceparent", traceparent()),), timeout=10
    )
    assert done.attempts == 3

    server, attempts = attempt_spans(await internal.spans.wait_for(4))

    assert server.name == "connectorgateway.v1.ConnectorService/Execute"
    assert f"{server.context.trace_id:032x}" == TRACE_ID
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == AGENT_SPAN
    assert [span.parent.span_id for span in attempts if span.parent] == [server.context.span_id] * 3
    assert [dict(span.attributes or {}) for span in attempts] == [
        {
            "http.request.method": "POST",
            "server.address": "127.0.0.1",
            "server.port": int(vendor.url.rpartition(":")[2]),
            "url.path": "/v1/charge",  # an internal connector's path may show
            "connectorgateway.connector": "faulty",
            "connectorgateway.operation": "charge",
            "connectorgateway.attempt": number,
            "http.response.status_code": status,
            "connectorgateway.outcome": outcome,
            **({"error.type": outcome} if failed else {}),
        }
        for number, status, outcome, failed in (
            (1, 503, "VENDOR_UNAVAILABLE", True),
            (2, 503, "VENDOR_UNAVAILABLE", True),
            (3, 200, "OK", False),
        )
    ]
    assert [span.status.status_code for span in attempts] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    assert all(span.name == "POST" and not span.events for span in attempts)
    # Each request carried its own attempt span's context, not the server span's.
    assert [r.headers["traceparent"] for r in vendor.requests] == [
        traceparent(TRACE_ID, hex_id(span)) for span in attempts
    ]
    texts = every_attribute_text([server, *attempts])
    for secret in (API_KEY, NOTE, "PX9931", vendor.requests[0].headers["idempotency-key"]):
        assert secret not in texts


async def test_a_confidential_connectors_span_has_no_path_and_no_query(
    confidential: RunningGateway, vendor: FaultVendor
) -> None:
    vendor.script(fv.status(404, {"error": {"code": "missing", "message": f"no {NOTE}"}}))
    request = pb.ExecuteRequest(connector_key="faulty", operation="get")
    request.payload.update({"id": "obj_PX9931"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await confidential.stub.Execute(request, timeout=10)
    assert refusal(caught.value).reason == "VENDOR_REJECTED"

    _, [attempt] = attempt_spans(await confidential.spans.wait_for(2))

    assert vendor.requests[0].query == {"id": "obj_PX9931"}  # the vendor had it: it is real
    assert dict(attempt.attributes or {}) == {
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": int(vendor.url.rpartition(":")[2]),
        "connectorgateway.connector": "faulty",
        "connectorgateway.operation": "get",
        "connectorgateway.attempt": 1,
        "http.response.status_code": 404,
        "connectorgateway.outcome": "VENDOR_REJECTED",
        "error.type": "VENDOR_REJECTED",
    }
    assert attempt.status.description == "VENDOR_REJECTED"
    texts = every_attribute_text(confidential.spans.get_finished_spans())
    for secret in ("obj_PX9931", "PX9931", "missing", API_KEY, "?id="):
        assert secret not in texts


async def test_a_call_that_is_not_sampled_makes_no_vendor_span(
    internal: RunningGateway, vendor: FaultVendor
) -> None:
    request = pb.ExecuteRequest(connector_key="faulty", operation="get")
    request.payload.update({"id": "obj_1"})
    declined = traceparent(flags="00")  # the agent's own trace is not sampled
    await internal.stub.Execute(request, metadata=(("traceparent", declined),), timeout=10)
    sampled_trace = "0af7651916cd43dd8448eb211c80319c"
    sampled = traceparent(sampled_trace)
    await internal.stub.Execute(request, metadata=(("traceparent", sampled),), timeout=10)

    spans = await internal.spans.wait_for(2)

    assert {f"{span.context.trace_id:032x}" for span in spans} == {sampled_trace}
    assert len(spans) == 2
    # The vendor still hears of the declined trace, as not sampled.
    unsampled, _ = (r.headers["traceparent"] for r in vendor.requests)
    assert unsampled.startswith(f"00-{TRACE_ID}-")
    assert unsampled.endswith("-00")


async def test_each_smtp_attempt_is_a_child_span(tmp_path: Path) -> None:
    settings = gateway_settings(
        tmp_path,
        policy={"allow_loosening": True, "overrides": {"email.send": "A"}},
        sandbox={"fail": {"email": {"status": 451, "at": "rcpt", "times": 1}}},
    )
    async with running_gateway(settings) as gw:
        request = pb.ExecuteRequest(connector_key="email", operation="send", idempotency_key="m1")
        request.payload.update(
            {"to": ["jane.roe@example.org"], "subject": "Biopsy PX9931", "text": NOTE}
        )
        done = await gw.stub.Execute(request, timeout=10)
        assert done.attempts == 2
        server, attempts = attempt_spans(await gw.spans.wait_for(3))

    assert [span.parent.span_id for span in attempts if span.parent] == [server.context.span_id] * 2
    smtp = {
        "server.address": "127.0.0.1",
        "network.protocol.name": "smtp",
        "connectorgateway.connector": "email",
        "connectorgateway.operation": "send",
    }
    first, second = (dict(span.attributes or {}) for span in attempts)
    assert {k: first[k] for k in smtp} == {k: second[k] for k in smtp} == smtp
    assert (first["connectorgateway.attempt"], second["connectorgateway.attempt"]) == (1, 2)
    assert (first["connectorgateway.outcome"], first["connectorgateway.phase"]) == (
        "VENDOR_UNAVAILABLE",
        "rcpt",
    )
    assert second["connectorgateway.outcome"] == "OK"
    assert all(span.name == "SMTP send" for span in attempts)
    texts = every_attribute_text([server, *attempts])
    for secret in ("jane.roe", "example.org", "Biopsy", "PX9931", NOTE):
        assert secret not in texts
