"""``GET /metrics``: one tenant's figures in Prometheus' exposition format.

Each scrape shows the figures of the caller's tenant only (one tenant never sees another's
traffic), read at that moment: the call series and audit write latencies kept by
``gateway.metrics``, the circuit breakers' states and the approval requests waiting for a
decision. Series are labelled ``tenant``, ``connector``, ``operation`` where they have one,
and ``sandbox`` ("true" where the connector acts at its sandbox for the tenant, "false"
where at the vendor); outcomes add ``code`` and ``reason``. No label holds an id, a caller
or anything from a payload, so the number of series is bounded by the catalogue of
connectors, operations and reasons.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Iterator

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from gateway.approvals.store import ApprovalStore
from gateway.contract import PolicyClass
from gateway.metrics import Histogram, MetricsRegistry
from gateway.registry import Registry
from gateway.reliability.breaker import CircuitState
from gateway.reliability.guards import Guards

PREFIX = "connector_gateway_"
SERIES_LABELS = ("tenant", "connector", "operation", "sandbox")


class _Families(Collector):
    """Metric families already read: one scrape's."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    """(le, cumulative count) pairs; bounds are written as Python writes floats ("0.25")."""
    return [
        ("+Inf" if math.isinf(bound) else repr(bound), count)
        for bound, count in histogram.cumulative()
    ]


class PrometheusExposition:
    def __init__(
        self,
        metrics: MetricsRegistry,
        registry: Registry,
        guards: Guards,
        approvals: ApprovalStore,
    ) -> None:
        self._metrics = metrics
        self._registry = registry
        self._guards = guards
        self._approvals = approvals

    async def render(self, tenant: str, accept: str) -> tuple[bytes, str]:
        """The tenant's figures, in the format the scraper's ``Accept`` asks for (the
        classic text format unless it asks for OpenMetrics), and its content type."""
        pending = await self._approvals.pending_counts(tenant)
        encoder, content_type = choose_encoder(accept)
        families = _Families(self._families(tenant, pending))  # read here, on the loop
        # Writing the text takes milliseconds for a large tenant: not on the event loop.
        return await asyncio.to_thread(encoder, families), content_type

    def _families(self, tenant: str, pending: dict[tuple[str, str], int]) -> Iterator[Metric]:
        yield from self._calls(tenant)
        yield self._circuits(tenant)
        yield self._pending(tenant, pending)
        audit = HistogramMetricFamily(
            PREFIX + "audit_write_duration_seconds",
            "How long a call waited for its audit row, with the rest of its phase's changes, "
            "to be durable.",
            labels=("tenant",),
        )
        writes = self._metrics.audit_writes(tenant)
        if writes is not None:
            audit.add_metric((tenant,), _buckets(writes), writes.sum)
        yield audit

    def _calls(self, tenant: str) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            PREFIX + "calls",
            "Calls that reached the connector (after validation and policy), by outcome: "
            'the gRPC code and the reason ("" for a success).',
            labels=(*SERIES_LABELS, "code", "reason"),
        )
        retries = CounterMetricFamily(
            PREFIX + "retries", "Vendor attempts beyond the first.", labels=SERIES_LABELS
        )
        timeouts = CounterMetricFamily(
            PREFIX + "timeouts",
            "Calls that ended because their deadline or the per-attempt timeout ran out.",
            labels=SERIES_LABELS,
        )
        latency = HistogramMetricFamily(
            PREFIX + "call_duration_seconds",
            "From the first attempt to the call's outcome, retries and their waits included.",
            labels=SERIES_LABELS,
        )
        for series in self._metrics.series(tenant):
            labels = (series.tenant, series.connector, series.operation, _flag(series.sandbox))
            for reason, count in series.outcomes.items():
                calls.add_metric((*labels, series.codes[reason], reason), count)
            retries.add_metric(labels, series.retries)
            timeouts.add_metric(labels, series.timeouts)
            latency.add_metric(labels, _buckets(series.latency), series.latency.sum)
        yield from (calls, retries, timeouts, latency)

    def _circuits(self, tenant: str) -> Metric:
        family = GaugeMetricFamily(
            PREFIX + "circuit_state",
            "The circuit breaker of the tenant's connector: 1 for its state now (closed, open, "
            "half_open), 0 for the others.",
            labels=("tenant", "connector", "sandbox", "state"),
        )
        for connector in self._registry.all():
            if not connector.configured_for(tenant):
                continue
            now = self._guards.breaker(tenant, connector.key).state
            sandbox = _flag(connector.sandboxed_for(tenant))
            for state in CircuitState:
                family.add_metric(
                    (tenant, connector.key, sandbox, state.value), float(state is now)
                )
        return family

    def _pending(self, tenant: str, counts: dict[tuple[str, str], int]) -> Metric:
        family = GaugeMetricFamily(
            PREFIX + "approvals_pending",
            "Approval requests waiting for a decision (0 is shown for every operation that "
            "needs approval).",
            labels=SERIES_LABELS,
        )
        for connector in self._registry.all():
            sandbox = _flag(connector.sandboxed_for(tenant))
            for spec in connector.metadata.operations:
                count = counts.pop((connector.key, spec.name), 0)
                if count or self._registry.policy_class(connector.key, spec) is PolicyClass.B:
                    family.add_metric((tenant, connector.key, spec.name, sandbox), count)
        for (key, operation), count in sorted(counts.items()):  # a connector no longer served
            family.add_metric((tenant, key, operation, "false"), count)
        return family
