"""The call series: buckets hold values up to their bound, percentiles are Prometheus'
interpolation over the buckets, and the Metrics RPC's window forgets what is older than five
minutes while the counts since start keep it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.metrics import CALL_BOUNDS_S, MetricsRegistry, bucket_quantile


class HandClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def record(metrics: MetricsRegistry, seconds: float, *, code: str = "OK", reason: str = "") -> None:
    metrics.record(
        "acme",
        "stripe",
        "charge",
        sandbox=False,
        code=code,
        reason=reason,
        seconds=seconds,
        attempts=1,
        timed_out=False,
    )


def reference_quantile(q: float, values: list[float]) -> float:
    """histogram_quantile as Prometheus documents it, over values bucketed by CALL_BOUNDS_S."""
    bounds = [*CALL_BOUNDS_S, float("inf")]
    cumulative = [sum(1 for v in values if v <= bound) for bound in bounds]
    rank = q * len(values)
    for index, count in enumerate(cumulative):
        if count >= rank:
            if bounds[index] == float("inf"):
                return CALL_BOUNDS_S[-1]
            start = bounds[index - 1] if index else 0.0
            below = cumulative[index - 1] if index else 0
            return start + (bounds[index] - start) * (rank - below) / (count - below)
    raise AssertionError("unreachable")


def approx_ms(values: list[float], q: float = 0.99) -> object:
    return pytest.approx(reference_quantile(q, values) * 1000)


def test_a_value_on_a_bound_is_counted_in_that_bucket() -> None:
    metrics = MetricsRegistry(clock=HandClock())
    for seconds in (0.1, 0.1000001, 61.0):
        record(metrics, seconds)
    [series] = metrics.series("acme")
    cumulative = dict(series.latency.cumulative())
    assert (cumulative[0.075], cumulative[0.1], cumulative[0.15]) == (0, 1, 2)
    assert (cumulative[60.0], cumulative[float("inf")]) == (2, 3)
    assert series.latency.sum == 0.1 + 0.1000001 + 61.0


@given(st.lists(st.floats(min_value=0.0, max_value=120.0), min_size=1, max_size=60))
def test_the_rpc_percentiles_are_histogram_quantile_over_the_buckets(values: list[float]) -> None:
    metrics = MetricsRegistry(clock=HandClock())
    for seconds in values:
        record(metrics, seconds)
    figures = metrics.connector("acme", "stripe")
    assert figures.latency_p50_ms == approx_ms(values, 0.5)
    assert figures.latency_p95_ms == approx_ms(values, 0.95)
    assert figures.latency_p99_ms == approx_ms(values, 0.99)


def test_no_calls_means_zero_percentiles() -> None:
    assert bucket_quantile(0.5, CALL_BOUNDS_S, [0] * (len(CALL_BOUNDS_S) + 1)) == 0.0
    figures = MetricsRegistry().connector("acme", "stripe")
    assert (figures.calls, figures.latency_p99_ms) == (0, 0.0)


def test_the_window_forgets_calls_older_than_five_minutes_but_the_counts_keep_them() -> None:
    clock = HandClock()
    metrics = MetricsRegistry(clock=clock)
    record(metrics, 20.0, code="UNAVAILABLE", reason="VENDOR_UNAVAILABLE")  # a slow failure
    for _ in range(3):
        record(metrics, 0.2)
    assert metrics.connector("acme", "stripe").latency_p99_ms == approx_ms([20.0, 0.2, 0.2, 0.2])

    clock.now += 4 * 60  # the minute under way is the fifth: all four calls still count
    record(metrics, 0.2)
    assert metrics.connector("acme", "stripe").latency_p99_ms == approx_ms(
        [20.0, 0.2, 0.2, 0.2, 0.2]
    )

    clock.now += 60  # the first minute has left the window
    record(metrics, 0.2)
    figures = metrics.connector("acme", "stripe")
    assert figures.latency_p99_ms == approx_ms([0.2, 0.2])
    assert (figures.calls, figures.successes) == (6, 5)
    assert figures.failures_by_code == {"UNAVAILABLE": 1}
    [series] = metrics.series("acme")
    assert series.latency.count == 6  # what Prometheus reads keeps every call

    clock.now += 10 * 60  # quiet for ten minutes: nothing in the window
    assert metrics.connector("acme", "stripe").latency_p50_ms == 0.0


def test_one_tenants_series_never_show_in_anothers() -> None:
    metrics = MetricsRegistry(clock=HandClock())
    record(metrics, 0.01)
    metrics.record_audit_write("acme", 0.002)
    assert metrics.series("globex") == []
    assert metrics.audit_writes("globex") is None
    assert metrics.connector("globex", "stripe").calls == 0
