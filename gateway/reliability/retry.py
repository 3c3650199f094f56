"""The retry loop: repeats only failures that are safe to repeat, inside the caller's deadline.

A failure is repeated when it is retryable (connection refused, 429, 502, 503, 504, timeouts)
and either provably never reached the vendor or hit an operation that is safe to repeat: a
read, or one the vendor deduplicates by the idempotency key the gateway forwards. A write that
may have reached the vendor is never repeated blindly.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.call import Deadline
from gateway.contract import Idempotency, OperationSpec, RetryPolicy
from gateway.errors import CircuitOpen, GatewayError, RateLimited, ShuttingDown

# Refusals by the gateway itself, before an attempt reaches the vendor.
GATE_REFUSALS = (CircuitOpen, RateLimited)


@dataclass(frozen=True)
class RetryTuning:
    """Deployment knobs over every connector's declared policy."""

    backoff_scale: float = 1.0  # tests scale the declared waits down instead of sleeping
    max_retry_after_s: float = 30.0  # a vendor's Retry-After is honoured up to this
    min_attempt_s: float = 0.05  # an attempt needs at least this long to be worth starting
    jitter: bool = True


@dataclass
class AttemptLog:
    """What the loop did, for the caller's metadata, metrics and the idempotency record."""

    attempts: int = 0
    may_have_acted: bool = False  # some attempt may have reached the vendor and acted
    stopped_because: str = ""


def may_retry(error: GatewayError, operation: OperationSpec) -> bool:
    if not error.retryable:
        return False
    if not error.may_have_acted:
        return True
    return operation.read_only or operation.idempotency is Idempotency.NATIVE


AttemptFn = Callable[[int, float], Awaitable[Mapping[str, Any]]]


class RetryEngine:
    def __init__(
        self,
        tuning: RetryTuning,
        *,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._tuning = tuning
        self._rng = rng
        self._sleep = sleep

    def wait_s(self, policy: RetryPolicy, retry_number: int, error: GatewayError) -> float:
        """The wait before retry ``retry_number`` (1-based): the declared backoff with
        jitter, or the vendor's Retry-After (capped) when that is longer."""
        schedule = policy.backoff_ms
        base_s = schedule[min(retry_number, len(schedule)) - 1] / 1000 * self._tuning.backoff_scale
        if self._tuning.jitter and policy.jitter:
            base_s *= 1 + policy.jitter * (2 * self._rng() - 1)
        if error.retry_after_ms is not None:  # the vendor's own Retry-After
            asked_s = min(error.retry_after_ms / 1000, self._tuning.max_retry_after_s)
            base_s = max(base_s, asked_s)
        return max(0.0, base_s)

    async def run(
        self,
        attempt: AttemptFn,
        *,
        policy: RetryPolicy,
        operation: OperationSpec,
        timeout_ms: int,
        deadline: Deadline,
        log: AttemptLog,
    ) -> Mapping[str, Any]:
        last: GatewayError | None = None
        last_duration_s = 0.0
        while True:
            number = log.attempts + 1
            timeout_s = min(timeout_ms / 1000, deadline.remaining())
            started = time.monotonic()
            try:
                result = await attempt(number, timeout_s)
            except ShuttingDown as stopping:
                # The gateway is stopping: this attempt never reached the vendor (it stopped
                # waiting for a rate-limit token, or the adapter is already closed).
                if last is not None:
                    log.stopped_because = "shutting_down"
                    stopping.with_metadata(retries_stopped=log.stopped_because)
                raise
            except GATE_REFUSALS as refusal:
                if last is None:
                    raise  # refused before any vendor contact
                log.stopped_because = refusal.reason.lower()
                raise last.with_metadata(retries_stopped=log.stopped_because) from None
            except GatewayError as error:
                log.attempts = number
                log.may_have_acted = log.may_have_acted or error.may_have_acted
                last, last_duration_s = error, time.monotonic() - started
            else:
                log.attempts = number
                return result
            if not may_retry(last, operation):
                raise last
            if number > policy.max_retries:
                log.stopped_because = "retries_exhausted"
                raise last.with_metadata(retries_stopped=log.stopped_because)
            wait_s = self.wait_s(policy, number, last)
            needed_s = wait_s + max(self._tuning.min_attempt_s, min(last_duration_s, timeout_s))
            if deadline.remaining() < needed_s:
                # No attempt starts that the remaining deadline cannot cover.
                log.stopped_because = "deadline"
                raise last.with_metadata(retries_stopped=log.stopped_because)
            try:
                await self._sleep(wait_s)  # cut short when the gateway begins to stop
            except ShuttingDown as stopping:
                log.stopped_because = "shutting_down"
                raise stopping.with_metadata(retries_stopped=log.stopped_because) from None
