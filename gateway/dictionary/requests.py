"""A ComputeMetric request, checked by the validation layer before anything is computed.

In order: the name's format, each bound's validity, the name among the dictionary's metrics
(UNKNOWN_METRIC), then the period the metric's kind needs. What was asked (the metric and
the bounds) is recorded in the call's facts first, so a refusal's audit row says it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from connectorgateway.v1 import metric_dictionary_service_pb2 as mpb
from gateway.call import CallFacts
from gateway.clock import to_text
from gateway.dictionary.definitions import Metric, dictionary
from gateway.dictionary.period import GRPC_FIELDS, HTTP_FIELDS, FieldNames, Period, check_period
from gateway.errors import FieldViolation, InvalidField, MissingField, UnknownMetric
from gateway.field_rules import NAME, check_format

_MIN_SECONDS, _MAX_SECONDS = -62135596800, 253402300799  # 0001-01-01 to 9999-12-31, UTC


def _instant(request: mpb.ComputeMetricRequest, field: str, named: str) -> datetime | None:
    if not request.HasField(field):
        return None
    stamp: Timestamp = getattr(request, field)
    if not (_MIN_SECONDS <= stamp.seconds <= _MAX_SECONDS and 0 <= stamp.nanos < 10**9):
        rule = "a valid timestamp, from 0001-01-01 to 9999-12-31"
        raise InvalidField(f"{named} must be {rule}", violations=(FieldViolation(named, rule),))
    return stamp.ToDatetime(tzinfo=UTC)


def metric_named(name: str, field: str = "name") -> Metric:
    """The dictionary's metric called ``name``: MISSING_FIELD, INVALID_FIELD or
    UNKNOWN_METRIC otherwise."""
    if not name:
        raise MissingField(
            f"{field} is required: the metric's name, see ListMetrics",
            violations=(FieldViolation(field, "one of the dictionary's metrics"),),
        )
    check_format(field, name, NAME)
    metric = dictionary().metric(name)
    if metric is None:
        known = ", ".join(dictionary().names)
        raise UnknownMetric(
            f"no metric {name!r} in the dictionary; its metrics are: {known}",
            metadata={"metric": name},
            violations=(FieldViolation(field, f"must be one of: {known}"),),
        )
    return metric


def requested_period(
    request: mpb.ComputeMetricRequest, metric: Metric, names: FieldNames = GRPC_FIELDS
) -> Period:
    """The period the request asks for, as the metric's period kind applies it."""
    start = _instant(request, "period_start", names.start)
    end = _instant(request, "period_end", names.end)
    return check_period(metric.period.kind, start, end, names)


def check_compute_request(
    request: mpb.ComputeMetricRequest, facts: CallFacts, protocol: str
) -> None:
    """Refuses a request that names no metric of the dictionary or a period its kind cannot
    take; bounds are named as the caller sent them (``from`` and ``to`` over HTTP)."""
    names = HTTP_FIELDS if protocol == "http" else GRPC_FIELDS
    if request.name:
        check_format("name", request.name, NAME)
    start = _instant(request, "period_start", names.start)
    end = _instant(request, "period_end", names.end)
    facts.payload_redacted = {
        "metric": request.name,
        **({names.start: to_text(start)} if start else {}),
        **({names.end: to_text(end)} if end else {}),
    }
    metric = metric_named(request.name)
    check_period(metric.period.kind, start, end, names)
