"""The dictionary's HTTP routes: building their request messages and rendering answers.

``GET /api/v1/metrics/dictionary`` is ListMetrics; ``GET /api/v1/metrics/{name}?from=&to=``
is ComputeMetric, with the bounds as ISO 8601 instants (or dates, midnight UTC). Both run
the chain like every route of ``gateway.api.http``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from connectorgateway.v1 import metric_dictionary_service_pb2 as mpb
from gateway.dictionary.period import HTTP_FIELDS, parse_instant
from gateway.errors import FieldViolation, InvalidField
from gateway.field_rules import NAME, check_format

DICTIONARY_PATH = "/api/v1/metrics/dictionary"
METRIC_PATH = "/api/v1/metrics/{name}"


def list_metrics_request(_: web.Request, __: bytes) -> Message:
    return mpb.ListMetricsRequest()


def _bound(request: web.Request, field: str) -> Timestamp | None:
    given = request.query.getall(field, [])
    if not given:
        return None
    if len(given) > 1:
        raise InvalidField(
            f"send {field} once", violations=(FieldViolation(field, "given more than once"),)
        )
    stamp = Timestamp()
    stamp.FromDatetime(parse_instant(field, given[0]))
    return stamp


def compute_metric_request(request: web.Request, _: bytes) -> Message:
    message = mpb.ComputeMetricRequest(name=check_format("name", request.match_info["name"], NAME))
    start = _bound(request, HTTP_FIELDS.start)
    end = _bound(request, HTTP_FIELDS.end)
    if start is not None:
        message.period_start.CopyFrom(start)
    if end is not None:
        message.period_end.CopyFrom(end)
    return message


def _json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def render_listing(response: Any) -> dict[str, Any]:
    """Every field, zeros and falses included (JPY's 0 minor digits, a column not nullable)."""
    return json_format.MessageToDict(
        response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def render_computed(response: Any) -> dict[str, Any]:
    """The figure's JSON, its value and null reason always present (null when empty)."""
    return {
        **_json(response),
        "value": response.value or None,
        "null_reason": response.null_reason or None,
    }
