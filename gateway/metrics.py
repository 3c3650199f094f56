"""Call figures per tenant, connector and operation, kept in memory by this process.

A call that reached its connector (the attempt pipeline's outcome) is recorded once, into the
series of its tenant, connector and operation: its outcome (gRPC code and reason), the
retries and timeouts, and its latency in a histogram. The histogram's buckets are the one
source of truth for latency. ``GET /metrics`` shows their counts since start
(``gateway.prometheus``); the Metrics RPC computes its percentiles from the same buckets
over a rolling window, a ring of per-minute bucket counts (the minute under way and the
``WINDOW_MINUTES - 1`` before it), interpolating within a bucket as Prometheus'
``histogram_quantile`` does. So the RPC's p95 of a connector is, on this replica,
``histogram_quantile(0.95, sum by (le) (increase(..._bucket[5m])))`` of the scraped series.

Recording runs on the event loop's thread only, so it takes no lock; once a series exists it
builds no label set, tuple or dict: a bisect and a few integer increments.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

# Upper bounds (seconds) of the call latency buckets; one more bucket holds everything above.
CALL_BOUNDS_S: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.35,
    0.5,
    0.75,
    1.0,
    1.5,
    2.5,
    5.0,
    7.5,
    10.0,
    15.0,
    30.0,
    60.0,
)
# Upper bounds (seconds) of the audit write latency buckets: a commit with its fsync.
AUDIT_BOUNDS_S: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
WINDOW_MINUTES = 5  # the Metrics RPC's percentiles: the minute under way and the four before
OK = "OK"


class Histogram:
    """Bucket counts since start and, when ``window_minutes``, per minute for the last few."""

    __slots__ = ("_ring", "_ring_minutes", "bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...], window_minutes: int = 0) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # per bucket, not cumulative; the last is +Inf
        self.sum = 0.0
        self._ring = [[0] * (len(bounds) + 1) for _ in range(window_minutes)]
        self._ring_minutes = [-1] * window_minutes  # the minute each slot of the ring counts

    def observe(self, value: float, minute: int) -> None:
        index = bisect_left(self.bounds, value)  # buckets hold values <= their bound
        self.counts[index] += 1
        self.sum += value
        if self._ring:
            slot = minute % len(self._ring)
            counts = self._ring[slot]
            if self._ring_minutes[slot] != minute:  # a new minute reuses the oldest slot
                self._ring_minutes[slot] = minute
                for i in range(len(counts)):
                    counts[i] = 0
            counts[index] += 1

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> Iterator[tuple[float, int]]:
        """(upper bound, count of values <= it) for every bucket, +Inf last."""
        total = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            yield bound, total

    def add_window(self, into: list[int], minute: int) -> None:
        """Adds the bucket counts of the window that ends in ``minute`` to ``into``."""
        for slot_minute, counts in zip(self._ring_minutes, self._ring, strict=True):
            if minute - len(self._ring) < slot_minute <= minute:
                for i, count in enumerate(counts):
                    into[i] += count


def bucket_quantile(q: float, bounds: Sequence[float], counts: Sequence[int]) -> float:
    """The q-quantile (0 < q < 1) of values counted in buckets (``counts`` per bucket, the
    last one +Inf), as Prometheus' ``histogram_quantile`` computes it: linear interpolation
    within the bucket where the rank falls (the first starting at 0), and the highest finite
    bound when it falls in +Inf. 0 when nothing was counted."""
    total = sum(counts)
    if total == 0:
        return 0.0
    rank = q * total
    below = 0
    for index, bound in enumerate(bounds):
        count = counts[index]
        if below + count >= rank:
            start = bounds[index - 1] if index else 0.0
            return start + (bound - start) * (rank - below) / count
        below += count
    return bounds[-1]


class CallSeries:
    """One tenant's calls of one operation of one connector."""

    __slots__ = (
        "codes",
        "connector",
        "latency",
        "operation",
        "outcomes",
        "retries",
        "sandbox",
        "tenant",
        "timeouts",
    )

    def __init__(self, tenant: str, connector: str, operation: str, sandbox: bool) -> None:
        self.tenant = tenant
        self.connector = connector
        self.operation = operation
        self.sandbox = sandbox
        self.outcomes: dict[str, int] = {}  # calls by reason ("" for a success)
        self.codes: dict[str, str] = {}  # the gRPC code of each reason (OK for "")
        self.retries = 0
        self.timeouts = 0
        self.latency = Histogram(CALL_BOUNDS_S, WINDOW_MINUTES)


@dataclass(frozen=True)
class ConnectorFigures:
    """What the Metrics RPC reports of one tenant's connector, from its series."""

    calls: int = 0
    successes: int = 0
    failures_by_code: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    timeouts: int = 0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    latency_p99_ms: float = 0.0


class MetricsRegistry:
    """The series of every tenant: one tenant's figures never show another's traffic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._calls: dict[str, dict[str, dict[str, CallSeries]]] = {}
        self._audit_writes: dict[str, Histogram] = {}

    def minute(self) -> int:
        return int(self._clock() // 60)

    def record(
        self,
        tenant: str,
        connector: str,
        operation: str,
        *,
        sandbox: bool,
        code: str,
        reason: str,
        seconds: float,
        attempts: int,
        timed_out: bool,
    ) -> None:
        """One call's outcome; ``sandbox``: its connector acts at a sandbox for the tenant."""
        try:
            series = self._calls[tenant][connector][operation]
        except KeyError:
            series = self._new_series(tenant, connector, operation, sandbox)
        outcomes = series.outcomes
        if reason in outcomes:
            outcomes[reason] += 1
        else:
            outcomes[reason] = 1
            series.codes[reason] = code
        if attempts > 1:
            series.retries += attempts - 1
        if timed_out:
            series.timeouts += 1
        series.latency.observe(seconds, self.minute())

    def _new_series(self, tenant: str, connector: str, operation: str, sandbox: bool) -> CallSeries:
        series = CallSeries(tenant, connector, operation, sandbox)
        self._calls.setdefault(tenant, {}).setdefault(connector, {})[operation] = series
        return series

    def record_audit_write(self, tenant: str, seconds: float) -> None:
        """How long one of the tenant's calls waited for its audit row to be durable."""
        histogram = self._audit_writes.get(tenant)
        if histogram is None:
            histogram = self._audit_writes[tenant] = Histogram(AUDIT_BOUNDS_S)
        histogram.observe(seconds, 0)

    def series(self, tenant: str) -> list[CallSeries]:
        """The tenant's call series, by connector and operation."""
        connectors = self._calls.get(tenant, {})
        return [
            connectors[key][operation]
            for key in sorted(connectors)
            for operation in sorted(connectors[key])
        ]

    def audit_writes(self, tenant: str) -> Histogram | None:
        return self._audit_writes.get(tenant)

    def connector(self, tenant: str, key: str) -> ConnectorFigures:
        """The tenant's figures of one connector: counts since start, percentiles over the
        rolling window, both summed over its operations' series."""
        operations = self._calls.get(tenant, {}).get(key, {}).values()
        calls = successes = retries = timeouts = 0
        failures: dict[str, int] = {}
        window = [0] * (len(CALL_BOUNDS_S) + 1)
        minute = self.minute()
        for series in operations:
            for reason, count in series.outcomes.items():
                calls += count
                code = series.codes[reason]
                if code == OK:
                    successes += count
                else:
                    failures[code] = failures.get(code, 0) + count
            retries += series.retries
            timeouts += series.timeouts
            series.latency.add_window(window, minute)
        return ConnectorFigures(
            calls=calls,
            successes=successes,
            failures_by_code=failures,
            retries=retries,
            timeouts=timeouts,
            latency_p50_ms=bucket_quantile(0.50, CALL_BOUNDS_S, window) * 1000,
            latency_p95_ms=bucket_quantile(0.95, CALL_BOUNDS_S, window) * 1000,
            latency_p99_ms=bucket_quantile(0.99, CALL_BOUNDS_S, window) * 1000,
        )
