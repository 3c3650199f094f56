"""The window of recent calls counts its failures as calls come and go: the count kept as they
arrive and leave equals a count made afresh, whatever the order of adds, reads and expiry."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.health_window import OutcomeWindow

SIZE = 5
SPAN_S = 10.0

# Steps: a call's outcome after some seconds, or a read of the window after some seconds.
STEP = st.one_of(
    st.tuples(st.just("add"), st.floats(0, 6), st.booleans(), st.floats(0, 5000)),
    st.tuples(st.just("read"), st.floats(0, 6), st.just(False), st.just(0.0)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_counts_kept_as_calls_come_and_go_match_a_fresh_count(steps: list[tuple]) -> None:
    window = OutcomeWindow(SIZE, SPAN_S)
    kept: list[tuple[float, bool, float]] = []  # what the window should hold, oldest first
    now = 0.0
    for kind, elapsed, failed, latency in steps:
        now += elapsed
        if kind == "add":
            window.add(now, vendor_failure=failed, latency_ms=latency)
            kept = [*kept, (now, failed, latency)][-SIZE:]
            continue
        kept = [k for k in kept if now - k[0] <= SPAN_S]
        stats = window.stats(now)
        assert stats.calls == len(kept)
        assert stats.vendor_failures == sum(k[1] for k in kept)
        if kept:
            latencies = sorted(k[2] for k in kept)
            assert stats.latency_p95_ms == latencies[math.ceil(0.95 * len(latencies)) - 1]
        counts_only = window.stats(now, latency=False)
        assert (counts_only.calls, counts_only.vendor_failures) == (
            stats.calls,
            stats.vendor_failures,
        )
        assert counts_only.latency_p95_ms == 0.0
