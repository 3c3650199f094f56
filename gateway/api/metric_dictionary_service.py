"""MetricDictionaryService: the dictionary's definitions, and one metric for the tenant."""

from __future__ import annotations

from connectorgateway.v1 import metric_dictionary_service_pb2 as mpb
from gateway.call import Admitted, Context
from gateway.dictionary import messages
from gateway.dictionary.calculator import MetricCalculator
from gateway.dictionary.definitions import Dictionary
from gateway.dictionary.requests import metric_named, requested_period


class MetricDictionaryServicer:
    def __init__(self, book: Dictionary, calculator: MetricCalculator) -> None:
        self._calculator = calculator
        self._listing = messages.listing(book, calculator.reporting_currency)

    async def ListMetrics(
        self, call: Admitted[mpb.ListMetricsRequest], ctx: Context
    ) -> mpb.ListMetricsResponse:
        response = mpb.ListMetricsResponse()
        response.CopyFrom(self._listing)
        return response

    async def ComputeMetric(
        self, call: Admitted[mpb.ComputeMetricRequest], ctx: Context
    ) -> mpb.ComputeMetricResponse:
        metric = metric_named(call.request.name)  # validation has refused any other name
        period = requested_period(call.request, metric)
        result = await self._calculator.compute(
            call.tenant, metric, period, timeout_s=call.deadline.remaining()
        )
        return messages.computed(result)
