"""A token bucket: per tenant and connector a call waits for a token within its deadline;
elsewhere (refusals' audit rows per peer) a token is taken only when one is free."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from gateway.errors import RateLimited


class TokenBucket:
    def __init__(
        self,
        key: str,
        per_second: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.key = key
        self._rate = per_second
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep  # the gateway's: cut short (ShuttingDown) when it begins to stop
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def try_take(self) -> bool:
        """Takes a token if one is free now; never waits."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    @property
    def full(self) -> bool:
        """Whether it has refilled completely: the same as a fresh bucket."""
        self._refill()
        return self._tokens >= self._burst

    async def acquire(self, time_left_s: float) -> None:
        """Takes a token, waiting for one if the wait fits in ``time_left_s``; otherwise
        raises RateLimited with the wait in RetryInfo and takes nothing."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return
        wait_s = (1 - self._tokens) / self._rate
        if wait_s > time_left_s:
            raise RateLimited(
                f"the gateway's quota for {self.key!r} is used up; a token is free in "
                f"{wait_s * 1000:.0f} ms, after this call's deadline",
                metadata={"connector_key": self.key},
                retry_after_ms=max(1, round(wait_s * 1000)),
            )
        # Reserve the token now (the balance goes negative) so later callers queue behind.
        self._tokens -= 1
        await self._sleep(wait_s)
