"""Measures what the figures and the vendor attempt spans add to one governed call: recording
its outcome and latency (against the previous in-memory counters, copied here, and against
prometheus-client's own labelled Counter and Histogram), recording an audit write, the attempt
scope of a call that is not sampled and of one that is (its span made and ended), and one
scrape of a tenant with the standard catalogue's series. Prints a Markdown section to add to
bench/RESULTS.md; for a shared machine, where a side-by-side run cannot be trusted.

    python -m bench.metrics_cost
"""

from __future__ import annotations

import asyncio
import math
import platform
import time
import timeit
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version

import prometheus_client
from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

from adapters.plugins import PLUGINS
from gateway.contract import DataClassification
from gateway.metrics import CALL_BOUNDS_S, MetricsRegistry
from gateway.prometheus import PrometheusExposition
from gateway.vendor_trace import VendorAttempt, attempt_scope, vendor_span


@dataclass
class _PreviousCounters:
    """The previous registry's per-connector counters (no operation, no histogram)."""

    calls: int = 0
    successes: int = 0
    failures_by_code: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    timeouts: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2048))


class _PreviousRegistry:
    def __init__(self) -> None:
        self._counters: dict[tuple[str, str], _PreviousCounters] = {}

    def record(self, tenant: str, key: str, *, code: str, latency_ms: float, attempts: int) -> None:
        c = self._counters.setdefault((tenant, key), _PreviousCounters())
        c.calls += 1
        if code == "OK":
            c.successes += 1
        else:
            c.failures_by_code[code] += 1
        c.retries += max(0, attempts - 1)
        c.timeouts += 0
        c.latencies_ms.append(latency_ms)


def microseconds(work: Callable[[], object], runs: int = 2000) -> float:
    """The best of many short runs: on a shared machine, the runs nothing interrupted."""
    return min(timeit.repeat(work, number=runs, repeat=100)) / runs * 1e6


def recording_cases() -> list[tuple[str, Callable[[], object]]]:
    previous = _PreviousRegistry()
    metrics = MetricsRegistry()
    library = prometheus_client.CollectorRegistry()
    labels = ("tenant", "connector", "operation", "sandbox")
    calls = prometheus_client.Counter("calls", "", [*labels, "code", "reason"], registry=library)
    latency = prometheus_client.Histogram(
        "call_duration_seconds", "", labels, buckets=CALL_BOUNDS_S, registry=library
    )

    def with_library() -> None:
        calls.labels("acme", "stripe", "charge", "false", "OK", "").inc()
        latency.labels("acme", "stripe", "charge", "false").observe(0.0384)

    def now() -> None:
        metrics.record(
            "acme",
            "stripe",
            "charge",
            sandbox=False,
            code="OK",
            reason="",
            seconds=0.0384,
            attempts=1,
            timed_out=False,
        )

    return [
        (
            "a call's outcome, before: counters and a deque of latencies",
            lambda: previous.record("acme", "stripe", code="OK", latency_ms=38.4, attempts=1),
        ),
        ("the same with prometheus-client's labelled Counter and Histogram", with_library),
        ("a call's outcome, now: its series, outcome and histogram (one record)", now),
        ("an audit write's latency, now", lambda: metrics.record_audit_write("acme", 0.0021)),
    ]


def span_case(sampled: bool) -> tuple[str, float]:
    """An attempt's scope and its one exchange, as the pipeline and the client run them,
    under the call's server span."""
    tracer = TracerProvider(sampler=ALWAYS_ON if sampled else ALWAYS_OFF).get_tracer("bench")
    server = tracer.start_span("Execute")

    def attempt() -> None:
        traced = (
            VendorAttempt(tracer, "stripe", "charge", 1, DataClassification.RESTRICTED)
            if trace.get_current_span().is_recording()
            else None
        )
        with attempt_scope(traced), vendor_span("POST", {"http.request.method": "POST"}):
            pass

    token = context.attach(trace.set_span_in_context(server))
    try:
        cost = microseconds(attempt)
    finally:
        context.detach(token)
    name = "sampled" if sampled else "not sampled (no exporter: every call)"
    return f"an attempt's scope and its request's span, call {name}", cost


def scrape_ms() -> tuple[float, int]:
    """One scrape's rendering (milliseconds) with a series for every operation of the
    standard connectors, and the number of lines it writes."""
    metrics = MetricsRegistry()

    class _Connectors:
        def all(self) -> list[object]:
            return []

    for plugin in PLUGINS:
        for spec in plugin.metadata.operations:
            for code, reason in (("OK", ""), ("UNAVAILABLE", "VENDOR_UNAVAILABLE")):
                metrics.record(
                    "acme",
                    plugin.key,
                    spec.name,
                    sandbox=False,
                    code=code,
                    reason=reason,
                    seconds=0.05,
                    attempts=2,
                    timed_out=False,
                )

    class _NoPending:
        async def pending_counts(self, tenant: str) -> dict[tuple[str, str], int]:
            return {}

    exposition = PrometheusExposition(
        metrics,
        _Connectors(),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        _NoPending(),  # type: ignore[arg-type]
    )

    loop = asyncio.new_event_loop()
    try:

        def render() -> bytes:
            return loop.run_until_complete(exposition.render("acme", ""))[0]

        lines = render().count(b"\n")
        return min(timeit.repeat(render, number=5, repeat=20)) / 5 * 1000, lines
    finally:
        loop.close()


def main() -> None:
    lines = [
        f"## What the figures and the attempt spans cost a call ({time.strftime('%Y-%m-%d')})",
        "",
        f"- machine: {platform.machine()}, Python {platform.python_version()}, prometheus-client "
        f"{version('prometheus-client')}; best of 100 runs of 2000, microseconds per operation "
        "(`python -m bench.metrics_cost`)",
        "",
        "| what | µs |",
        "| --- | ---: |",
    ]
    for name, work in recording_cases():
        lines.append(f"| {name} | {microseconds(work):.2f} |")
    for sampled in (False, True):
        name, cost = span_case(sampled)
        lines.append(f"| {name} | {cost:.2f} |")
    ms, written = scrape_ms()
    lines += [
        "",
        f"One scrape of a tenant with two outcomes of every operation of the standard connectors "
        f"({written} lines): {ms:.1f} ms.",
    ]
    assert math.isfinite(ms)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
