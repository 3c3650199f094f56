"""A closed-loop load generator: a fixed number of calls in flight, bounded in count and time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# One call, given its index in the window (writes derive a fresh idempotency key from it).
Call = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Window:
    """What one measured window saw."""

    in_flight: int
    calls: int
    elapsed_s: float
    latencies_s: tuple[float, ...]

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.elapsed_s

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of the call latencies, in milliseconds."""
        ordered = sorted(self.latencies_s)
        rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
        return ordered[int(rank) - 1] * 1000


async def drive(call: Call, *, in_flight: int, max_calls: int, max_s: float) -> Window:
    """Keeps ``in_flight`` calls going until ``max_calls`` have been made or ``max_s`` has
    passed, whichever comes first; a call that fails stops the window with its error."""
    indexes = iter(range(max_calls))
    latencies: list[float] = []
    stop_at = time.perf_counter() + max_s

    async def worker() -> None:
        for index in indexes:  # shared: each index is taken by exactly one worker
            if time.perf_counter() >= stop_at:
                return
            started = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(in_flight):
            group.create_task(worker())
    elapsed = time.perf_counter() - started
    return Window(in_flight, len(latencies), elapsed, tuple(latencies))
