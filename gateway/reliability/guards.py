"""The circuit breakers and rate-limit buckets, one set per gateway process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from gateway.contract import ConnectorMetadata
from gateway.reliability.breaker import CircuitBreaker
from gateway.reliability.rate_limit import TokenBucket
from gateway.settings import RateLimitSettings, ReliabilitySettings


class Guards:
    def __init__(
        self,
        settings: ReliabilitySettings,
        tenant_rate_limits: Mapping[str, Mapping[str, RateLimitSettings]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._tenant_rate_limits = tenant_rate_limits or {}
        self._clock = clock
        self._sleep = sleep  # how a call waits for a token (cut short when the gateway stops)
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def breaker(self, tenant: str, connector_key: str) -> CircuitBreaker:
        """Per tenant and connector: each tenant acts with its own vendor account, so one
        tenant's revoked credentials do not stop another's calls."""
        breaker = self._breakers.get((tenant, connector_key))
        if breaker is None:
            breaker = CircuitBreaker(
                connector_key,
                failure_threshold=self._settings.breaker_failure_threshold,
                open_s=self._settings.breaker_open_s,
                clock=self._clock,
            )
            self._breakers[(tenant, connector_key)] = breaker
        return breaker

    def bucket(self, tenant: str, metadata: ConnectorMetadata) -> TokenBucket:
        """The tenant's quota at the vendor: configured, else the vendor's published one."""
        key = (tenant, metadata.key)
        bucket = self._buckets.get(key)
        if bucket is None:
            configured = self._tenant_rate_limits.get(tenant, {}).get(
                metadata.key
            ) or self._settings.rate_limits.get(metadata.key)
            per_second = configured.per_second if configured else metadata.rate_limit.per_second
            burst = configured.burst if configured else metadata.rate_limit.burst
            bucket = TokenBucket(
                metadata.key, per_second, burst, clock=self._clock, sleep=self._sleep
            )
            self._buckets[key] = bucket
        return bucket
