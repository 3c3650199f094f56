"""A circuit breaker per connector: consecutive vendor failures open it for a while, then
one trial call decides whether it closes again."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from gateway.errors import CircuitOpen


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        key: str,
        *,
        failure_threshold: int = 5,
        open_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self._threshold = failure_threshold
        self._open_s = open_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at < self._open_s:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def admit(self) -> bool:
        """Lets a vendor attempt through, or raises CircuitOpen. Returns True when the attempt
        is the half-open trial, which the caller must settle with ``record`` or ``release``."""
        state = self.state
        if state is CircuitState.CLOSED:
            return False
        if state is CircuitState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        assert self._opened_at is not None
        wait_ms = max(1, round((self._opened_at + self._open_s - self._clock()) * 1000))
        raise CircuitOpen(
            f"connector {self.key!r} failed {self._threshold} times in a row; calls fail fast "
            f"until a trial call succeeds (in about {wait_ms} ms)",
            metadata={"connector_key": self.key, "circuit_state": state.value},
            retry_after_ms=wait_ms if state is CircuitState.OPEN else 1000,
        )

    def record(self, *, vendor_failure: bool, trial: bool) -> None:
        """Settles an attempt that reached (or tried to reach) the vendor."""
        if trial:
            self._trial_running = False
        if not vendor_failure:
            self._failures = 0
            self._opened_at = None
            return
        self._failures += 1
        if trial or self._failures >= self._threshold:
            self._opened_at = self._clock()

    def release(self, *, trial: bool) -> None:
        """An admitted attempt that never ran: frees the trial slot."""
        if trial:
            self._trial_running = False
