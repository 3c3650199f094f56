"""The recent window of one connector's calls: what its status and the board's rates read.

A call counts once, whatever its retries, and only when it reached the vendor and its
outcome says something about the vendor (``gateway.health_rules.vendor_verdict``). The
window holds the last ``size`` such calls and forgets those older than ``span_s``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowStats:
    """The calls of the window at one moment."""

    calls: int = 0
    vendor_failures: int = 0
    latency_p95_ms: float = 0.0

    @property
    def failure_ratio(self) -> float:
        """The share of the calls that failed for the vendor's fault (0 without calls)."""
        return self.vendor_failures / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class _Outcome:
    at: float  # monotonic seconds
    vendor_failure: bool
    latency_ms: float


class OutcomeWindow:
    def __init__(self, size: int, span_s: float) -> None:
        self._outcomes: deque[_Outcome] = deque(maxlen=size)
        self._span_s = span_s

    def add(self, at: float, *, vendor_failure: bool, latency_ms: float) -> None:
        self._outcomes.append(_Outcome(at, vendor_failure, latency_ms))

    def stats(self, now: float) -> WindowStats:
        while self._outcomes and now - self._outcomes[0].at > self._span_s:
            self._outcomes.popleft()
        if not self._outcomes:
            return WindowStats()
        latencies = sorted(o.latency_ms for o in self._outcomes)
        rank = max(1, math.ceil(0.95 * len(latencies)))  # nearest rank
        return WindowStats(
            calls=len(self._outcomes),
            vendor_failures=sum(o.vendor_failure for o in self._outcomes),
            latency_p95_ms=latencies[rank - 1],
        )
