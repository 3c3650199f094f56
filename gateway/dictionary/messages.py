"""The dictionary and computed figures as the API's messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from connectorgateway.v1 import metric_dictionary_service_pb2 as mpb
from gateway.dictionary.calculator import Computed
from gateway.dictionary.definitions import Dictionary, Metric, PeriodKind

PERIOD_KINDS = {
    PeriodKind.WITHIN: mpb.PERIOD_KIND_WITHIN,
    PeriodKind.AS_OF_END: mpb.PERIOD_KIND_AS_OF_END,
    PeriodKind.CURRENT: mpb.PERIOD_KIND_CURRENT,
}


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def definition(metric: Metric) -> mpb.MetricDefinition:
    return mpb.MetricDefinition(
        name=metric.name,
        definition_en=metric.definition.en,
        definition_ar=metric.definition.ar,
        owner=metric.owner,
        unit=metric.unit.value,
        source=metric.source.value,
        period_kind=PERIOD_KINDS[metric.period.kind],
        period_applies=metric.period.applies,
        reads=[mpb.TableRead(table=r.table, columns=r.columns) for r in metric.reads],
        formula=metric.formula,
        rounding=metric.rounding,
        components=[mpb.NamedText(name=c.name, meaning=c.meaning) for c in metric.components],
        null_reasons=[mpb.NamedText(name=n.reason, meaning=n.meaning) for n in metric.null_when],
    )


def listing(book: Dictionary, reporting_currency: str) -> mpb.ListMetricsResponse:
    return mpb.ListMetricsResponse(
        dictionary_version=book.version,
        metrics=[definition(metric) for metric in book.metrics],
        conventions=[mpb.NamedText(name=c.name, meaning=c.meaning) for c in book.conventions],
        currencies=[
            mpb.CurrencyDefinition(code=c.code, minor_digits=c.minor_digits)
            for c in book.currencies
        ],
        reporting_currency=reporting_currency,
        column_types=[
            mpb.ColumnType(name=t.name, sqlite=t.sqlite, postgresql=t.postgresql, meaning=t.meaning)
            for t in book.column_types
        ],
        tables=[
            mpb.TableShape(
                name=table.name,
                meaning=table.meaning,
                columns=[
                    mpb.TableColumn(
                        name=c.name, type=c.type, nullable=c.nullable, meaning=c.meaning
                    )
                    for c in table.columns
                ],
            )
            for table in book.tables
        ],
    )


def computed(result: Computed) -> mpb.ComputeMetricResponse:
    figure, period = result.figure, result.period
    response = mpb.ComputeMetricResponse(
        name=result.metric.name,
        value="" if figure.value is None else format(figure.value, "f"),
        null_reason=figure.null_reason,
        unit=result.metric.unit.value,
        currency=result.currency,
        period_kind=PERIOD_KINDS[period.kind],
        computed_at=_timestamp(result.computed_at),
        components=[
            mpb.MetricComponent(name=c.name, value=format(c.value, "f")) for c in figure.components
        ],
        dictionary_version=result.dictionary_version,
    )
    if period.start is not None:
        response.period_start.CopyFrom(_timestamp(period.start))
    if period.end is not None:
        response.period_end.CopyFrom(_timestamp(period.end))
    return response
