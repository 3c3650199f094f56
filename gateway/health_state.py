"""Deriving and keeping each connector's status from call outcomes and live probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from gateway.clock import utc_now
from gateway.contract import ConnectorStatus
from gateway.errors import GatewayError, VendorRejected
from gateway.store.sync_states import SyncState, SyncStateStore


def counts_against_connector(error: GatewayError) -> bool:
    """A vendor's or transport's failure; a refusal of the request's content is not one."""
    return not isinstance(error, VendorRejected) and error.code.name not in (
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
    )


class HealthTracker:
    def __init__(
        self,
        store: SyncStateStore,
        *,
        failures_for_error: int = 1,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._failures_for_error = failures_for_error
        self._clock = clock
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def _lock(self, tenant: str, key: str) -> asyncio.Lock:
        return self._locks.setdefault((tenant, key), asyncio.Lock())

    async def get(self, tenant: str, key: str) -> SyncState | None:
        return await self._store.get(tenant, key)

    async def record_success(self, tenant: str, key: str) -> None:
        async with self._lock(tenant, key):
            now = self._clock()
            await self._store.put(SyncState(tenant, key, ConnectorStatus.OK, now, now, "", 0), now)

    async def record_failure(self, tenant: str, key: str, error: GatewayError) -> None:
        async with self._lock(tenant, key):
            now = self._clock()
            previous = await self._store.get(tenant, key)
            described = f"{error.reason}: {error.message}"
            if not counts_against_connector(error):
                status = previous.status if previous else ConnectorStatus.UNKNOWN
                failures = previous.consecutive_failures if previous else 0
            else:
                failures = (previous.consecutive_failures if previous else 0) + 1
                status = (
                    ConnectorStatus.ERROR
                    if failures >= self._failures_for_error
                    else ConnectorStatus.DEGRADED
                )
            await self._store.put(
                SyncState(
                    tenant,
                    key,
                    status,
                    previous.last_success_at if previous else None,
                    now,
                    described[:500],
                    failures,
                ),
                now,
            )

    async def record_probe(self, tenant: str, key: str, ok: bool, detail: str) -> None:
        """A live probe: a failing probe marks the connector in error, a passing one clears
        a probe-only error but never hides recent call failures."""
        async with self._lock(tenant, key):
            now = self._clock()
            previous = await self._store.get(tenant, key)
            if ok:
                if previous is not None and previous.consecutive_failures > 0:
                    return
                state = SyncState(
                    tenant,
                    key,
                    ConnectorStatus.OK,
                    previous.last_success_at if previous else None,
                    previous.last_attempt_at if previous else None,
                    "",
                    0,
                )
            else:
                state = SyncState(
                    tenant,
                    key,
                    ConnectorStatus.ERROR,
                    previous.last_success_at if previous else None,
                    previous.last_attempt_at if previous else None,
                    f"PROBE_FAILED: {detail}"[:500],
                    previous.consecutive_failures if previous else 0,
                )
            await self._store.put(state, now)
