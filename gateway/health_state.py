"""Deriving and keeping each connector's status from call outcomes and live probes.

The state lives in memory and is written to ``integration_sync_states`` behind it: at once
when the status or the last error changes (what the board must show), otherwise (a newer
success or attempt time) by ``flush``, which the gateway runs every second and on shutdown.
So a healthy connector costs no database write per call.

A connector acting at its vendor's sandbox for a tenant keeps that state in memory only: it
lasts as long as the sandbox, and the board never shows a sandbox's results for the vendor
once the tenant's account is configured (nor the vendor's for the sandbox).

The last error shown on the board (to every caller of the tenant, and to anyone when open
board reads are on) is built only from the error's reason, the phase and the vendor's status
and code, never from a message: a vendor's words can quote the request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from datetime import datetime

from gateway.clock import utc_now
from gateway.contract import ConnectorStatus
from gateway.errors import GatewayError
from gateway.redaction import is_token
from gateway.store.sync_states import SyncState, SyncStateStore

Key = tuple[str, str]  # (tenant, connector key)
PROBE_FAILED = "PROBE_FAILED"
_SUMMARY_KEYS = (
    ("phase", "phase"),
    ("vendor_status", "vendor status"),
    ("vendor_code", "vendor code"),
)


def error_summary(error: GatewayError) -> str:
    """``VENDOR_REJECTED (phase rcpt, vendor code 550)``: what the board may show."""
    parts = [
        f"{label} {value}"
        for key, label in _SUMMARY_KEYS
        if (value := error.metadata.get(key)) and is_token(value)
    ]
    return f"{error.reason} ({', '.join(parts)})" if parts else error.reason


class HealthTracker:
    def __init__(
        self,
        store: SyncStateStore,
        *,
        failures_for_error: int = 1,
        clock: Callable[[], datetime] = utc_now,
        unsaved: Collection[Key] = (),
    ) -> None:
        self._store = store
        self._failures_for_error = failures_for_error
        self._clock = clock
        self._states: dict[Key, SyncState | None] = {}
        self._dirty: set[Key] = set()
        self._unsaved = frozenset(unsaved)  # sandboxed (tenant, connector): memory only

    async def get(self, tenant: str, key: str) -> SyncState | None:
        where = (tenant, key)
        if where not in self._states:
            saved = None if where in self._unsaved else await self._store.get(tenant, key)
            self._states[where] = saved
        return self._states[where]

    async def _update(self, state: SyncState) -> None:
        where = (state.tenant, state.connector_key)
        previous = self._states.get(where)
        self._states[where] = state
        if where in self._unsaved:
            return
        if (
            previous is None
            or previous.status is not state.status
            or previous.last_error != state.last_error
        ):
            self._dirty.discard(where)
            await self._store.put(state, self._clock())
        else:
            self._dirty.add(where)

    async def flush(self) -> None:
        """Writes every state changed since it was last written."""
        dirty, self._dirty = self._dirty, set()
        for where in dirty:
            state = self._states.get(where)
            if state is not None:
                await self._store.put(state, self._clock())

    async def record_success(self, tenant: str, key: str) -> None:
        now = self._clock()
        await self.get(tenant, key)
        await self._update(SyncState(tenant, key, ConnectorStatus.OK, now, now, "", 0))

    async def record_failure(self, tenant: str, key: str, error: GatewayError) -> None:
        now = self._clock()
        previous = await self.get(tenant, key)
        if error.vendor_fault:
            failures = (previous.consecutive_failures if previous else 0) + 1
            status = (
                ConnectorStatus.ERROR
                if failures >= self._failures_for_error
                else ConnectorStatus.DEGRADED
            )
        else:  # the vendor refused the request's content: nothing wrong with the vendor
            status = previous.status if previous else ConnectorStatus.UNKNOWN
            failures = previous.consecutive_failures if previous else 0
        await self._update(
            SyncState(
                tenant,
                key,
                status,
                previous.last_success_at if previous else None,
                now,
                error_summary(error),
                failures,
            )
        )

    async def record_probe(
        self, tenant: str, key: str, ok: bool, error: GatewayError | None = None
    ) -> None:
        """A live probe: a failing probe marks the connector in error, a passing one clears
        a probe's error but never hides recent call failures. ``error`` says why it failed."""
        previous = await self.get(tenant, key)
        if previous is None:
            previous = SyncState(tenant, key, ConnectorStatus.UNKNOWN, None, None, "", 0)
        if ok:
            if previous.consecutive_failures > 0:
                return
            state = dataclasses.replace(previous, status=ConnectorStatus.OK, last_error="")
        else:
            why = f"{PROBE_FAILED}: {error_summary(error)}" if error else PROBE_FAILED
            state = dataclasses.replace(previous, status=ConnectorStatus.ERROR, last_error=why)
        await self._update(state)
