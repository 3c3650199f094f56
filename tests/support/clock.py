"""A clock that a test moves by hand, so that nothing waits for time to pass."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.clock import Clocks, utc_now


class ManualClock:
    """Wall time and monotonic time that stand still until ``advance`` moves both."""

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or utc_now()
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._wall

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock moves forward only")
        self._wall += timedelta(seconds=seconds)
        self._monotonic += seconds

    @property
    def clocks(self) -> Clocks:
        """The gateway's time sources, both read from this clock."""
        return Clocks(wall=self.now, monotonic=self.monotonic)
