"""Per-connector call counters and latency percentiles, kept in memory since start."""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field

WINDOW = 2048  # latencies kept per connector for the percentiles


@dataclass
class ConnectorCounters:
    calls: int = 0
    successes: int = 0
    failures_by_code: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    timeouts: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile over the recent window; 0 when there is no data."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]


class MetricsRegistry:
    """Counters per tenant and connector: one tenant never sees another's traffic."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str], ConnectorCounters] = {}

    def counters(self, tenant: str, key: str) -> ConnectorCounters:
        return self._counters.setdefault((tenant, key), ConnectorCounters())

    def record(
        self,
        tenant: str,
        key: str,
        *,
        code: str,
        latency_ms: float,
        attempts: int,
        timed_out: bool,
    ) -> None:
        c = self.counters(tenant, key)
        c.calls += 1
        if code == "OK":
            c.successes += 1
        else:
            c.failures_by_code[code] += 1
        c.retries += max(0, attempts - 1)
        c.timeouts += int(timed_out)
        c.latencies_ms.append(latency_ms)
