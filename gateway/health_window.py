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
        self._failures = 0  # vendor failures among _outcomes, kept as they come and go

    def add(self, at: float, *, vendor_failure: bool, latency_ms: float) -> None:
        outcomes = self._outcomes
        if len(outcomes) == outcomes.maxlen and outcomes[0].vendor_failure:
            self._failures -= 1  # the append pushes the oldest out
        outcomes.append(_Outcome(at, vendor_failure, latency_ms))
        self._failures += vendor_failure

    def stats(self, now: float, *, latency: bool = True) -> WindowStats:
        """The window now; without ``latency`` the p95 is left at 0 (a call's outcome needs
        only the counts to derive the status, and skips the sort)."""
        outcomes = self._outcomes
        while outcomes and now - outcomes[0].at > self._span_s:
            self._failures -= outcomes.popleft().vendor_failure
        if not outcomes:
            return WindowStats()
        p95 = 0.0
        if latency:
            latencies = sorted(o.latency_ms for o in outcomes)
            p95 = latencies[max(1, math.ceil(0.95 * len(latencies))) - 1]  # nearest rank
        return WindowStats(calls=len(outcomes), vendor_failures=self._failures, latency_p95_ms=p95)
