"""Telemetry: one OpenTelemetry server span per governed call, over gRPC or HTTP.

The incoming W3C ``traceparent`` is continued, and the trace id is put in the call's facts
for the audit row and for INTERNAL errors. Health checks never pass through this chain, and
Prometheus' scrapes pass untraced (``MethodRule.traced``), so neither produces spans.
"""

from __future__ import annotations

from google.protobuf.message import Message
from opentelemetry import propagate, trace
from opentelemetry.context import Context as TraceContext
from opentelemetry.semconv._incubating.attributes.rpc_attributes import (
    RPC_GRPC_STATUS_CODE,
    RPC_METHOD,
    RPC_SERVICE,
    RPC_SYSTEM,
)
from opentelemetry.semconv.attributes.http_attributes import HTTP_REQUEST_METHOD
from opentelemetry.semconv.attributes.url_attributes import URL_PATH
from opentelemetry.trace import SpanKind, Status, StatusCode, format_trace_id

from gateway.call import Call, Context
from gateway.interceptors.base import Next


class TelemetryLayer:
    name = "telemetry"

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        if not call.rule.traced:
            return await call_next(call)
        parent = _parent(call)
        service = call.rule.service
        with self._tracer.start_as_current_span(
            f"{service}/{call.method}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=_attributes(call),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            call.facts.trace_id = format_trace_id(span.get_span_context().trace_id)
            try:
                return await call_next(call)
            finally:
                # The status-mapping layer inside has recorded the code it answered with.
                code = call.facts.status_code
                if call.protocol == "grpc":
                    span.set_attribute(RPC_GRPC_STATUS_CODE, _CODE_NUMBERS.get(code, 2))
                if code != "OK":
                    span.set_status(Status(StatusCode.ERROR, code))
                if call.facts.connector_key:
                    span.set_attribute("connectorgateway.connector", call.facts.connector_key)
                    span.set_attribute("connectorgateway.operation", call.facts.operation)
                    span.set_attribute("connectorgateway.attempts", call.facts.attempts)


def _parent(call: Call) -> TraceContext:
    """The caller's trace context; most calls carry none, and skip the propagators."""
    fields = propagate.get_global_textmap().fields
    carrier = {k: v for k, v in call.metadata if isinstance(v, str) and k in fields}
    return propagate.extract(carrier) if carrier else _NO_PARENT


def _attributes(call: Call) -> dict[str, str]:
    """A gRPC call's RPC attributes; an HTTP request's method and path."""
    if call.protocol == "grpc":
        return {RPC_SYSTEM: "grpc", RPC_SERVICE: call.rule.service, RPC_METHOD: call.method}
    method, _, path = call.route.removeprefix("HTTP ").partition(" ")
    return {HTTP_REQUEST_METHOD: method, URL_PATH: path, RPC_METHOD: call.method}


def _code_numbers() -> dict[str, int]:
    import grpc

    return {c.name: c.value[0] for c in grpc.StatusCode}


_CODE_NUMBERS = _code_numbers()
# What the propagators extract from a carrier without their fields: a new trace.
_NO_PARENT = TraceContext()
