"""Keeping each connector's status per tenant, from call outcomes, live probes, the circuit
breaker and operators' switches (the rules are ``gateway.health_rules``).

What was observed lives in memory: the recent window of calls, the probes failed in a row.
The status is derived afresh whenever something it depends on is recorded or read, and on
``refresh`` (the gateway runs it every second, for what changes with time alone: a breaker
whose open period ended, calls leaving the window). It is written to
``integration_sync_states`` behind: at once when the status or the last error changes (what
the board must show), otherwise (a newer success or attempt time) by ``flush``, which the
gateway runs every second and on shutdown. So a healthy connector costs no database write per
call. Listeners hear of every change of a status.

A connector acting at its vendor's sandbox for a tenant keeps that state in memory only: it
lasts as long as the sandbox, and the board never shows a sandbox's results for the vendor
once the tenant's account is configured (nor the vendor's for the sandbox).

The last error shown on the board (to every caller of the tenant) is built only from the
error's reason, the phase and the vendor's status and code, never from a message: a vendor's
words can quote the request.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gateway.clock import utc_now
from gateway.contract import ConnectorStatus
from gateway.errors import GatewayError
from gateway.health_rules import OBSERVED, HealthRules, Observed, derive_status, vendor_verdict
from gateway.health_window import OutcomeWindow, WindowStats
from gateway.redaction import is_token
from gateway.reliability.breaker import CircuitState
from gateway.store.sync_states import SyncState, SyncStateStore

Key = tuple[str, str]  # (tenant, connector key)
PROBE_FAILED = "PROBE_FAILED"
_SUMMARY_KEYS = (
    ("phase", "phase"),
    ("vendor_status", "vendor status"),
    ("vendor_code", "vendor code"),
)

# Told of each change of a connector's status: (tenant, connector key, new status).
Listener = Callable[[str, str, ConnectorStatus], Awaitable[None]]


def error_summary(error: GatewayError) -> str:
    """``VENDOR_REJECTED (phase rcpt, vendor code 550)``: what the board may show."""
    parts = [
        f"{label} {value}"
        for key, label in _SUMMARY_KEYS
        if (value := error.metadata.get(key)) and is_token(value)
    ]
    return f"{error.reason} ({', '.join(parts)})" if parts else error.reason


def _worth_a_row(state: SyncState) -> bool:
    """Whether a state says more than the configuration does: a connector never seen, and
    unknown or not configured, gets no row (reading every tenant's board writes nothing)."""
    return bool(
        state.status in OBSERVED
        or state.status is ConnectorStatus.DISABLED
        or state.last_attempt_at
        or state.last_error
    )


class Surroundings(Protocol):
    """What else a status depends on, read each time it is derived."""

    def configured(self, tenant: str, key: str) -> bool: ...

    def disabled(self, tenant: str, key: str) -> bool: ...

    def circuit(self, tenant: str, key: str) -> CircuitState: ...


class Alone:
    """Surroundings of a connector that is configured, enabled and has a closed breaker."""

    def configured(self, tenant: str, key: str) -> bool:
        return True

    def disabled(self, tenant: str, key: str) -> bool:
        return False

    def circuit(self, tenant: str, key: str) -> CircuitState:
        return CircuitState.CLOSED


@dataclass(frozen=True)
class HealthSnapshot:
    """A connector's state as the board shows it: the sync state (its status just derived)
    and the recent window's figures."""

    state: SyncState
    recent: WindowStats


class _Tracked:
    """What this process observed of one connector for one tenant."""

    def __init__(self, state: SyncState, window: OutcomeWindow, *, stored: bool) -> None:
        self.state = state
        self.window = window
        self.stored = stored  # a row exists (or is being written)
        self.probe_failures = 0
        self.probed = False
        # The status stored before the gateway started, shown until something new is seen.
        self.carried = state.status if state.status in OBSERVED else None


class HealthTracker:
    def __init__(
        self,
        store: SyncStateStore,
        *,
        rules: HealthRules | None = None,
        surroundings: Surroundings | None = None,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        unsaved: Collection[Key] = (),
    ) -> None:
        self._store = store
        self._rules = rules or HealthRules()
        self.surroundings: Surroundings = surroundings or Alone()
        self._clock = clock
        self._monotonic = monotonic
        self._tracked: dict[Key, _Tracked] = {}
        self._dirty: set[Key] = set()
        self._unsaved = frozenset(unsaved)  # sandboxed (tenant, connector): memory only
        self.listeners: list[Listener] = []

    async def _get_tracked(self, tenant: str, key: str) -> _Tracked:
        where = (tenant, key)
        tracked = self._tracked.get(where)
        if tracked is None:
            saved = None if where in self._unsaved else await self._store.get(tenant, key)
            tracked = self._tracked.get(where)  # loaded by another call meanwhile
            if tracked is None:
                state = saved or SyncState(tenant, key, ConnectorStatus.UNKNOWN, None, None, "", 0)
                window = OutcomeWindow(self._rules.window_calls, self._rules.window_s)
                tracked = _Tracked(state, window, stored=saved is not None)
                self._tracked[where] = tracked
        return tracked

    async def snapshot(self, tenant: str, key: str) -> HealthSnapshot:
        """The connector's state now, its status derived afresh."""
        tracked = await self._get_tracked(tenant, key)
        recent = await self._settle(tracked)
        return HealthSnapshot(tracked.state, recent)

    async def get(self, tenant: str, key: str) -> SyncState:
        return (await self.snapshot(tenant, key)).state

    async def refresh(self, tenant: str, key: str) -> None:
        """Derives the status again (an operator's switch changed, say)."""
        await self.snapshot(tenant, key)

    async def refresh_all(self) -> None:
        """Derives every known status again: for what changes with time alone."""
        for tracked in list(self._tracked.values()):
            await self._settle(tracked)

    async def _settle(
        self, tracked: _Tracked, *, latency: bool = True, **changes: Any
    ) -> WindowStats:
        """Applies ``changes`` to the sync state with the status derived now; writes it at
        once when the status or the last error changed, else leaves it to ``flush``. A
        call's outcome settles without the window's latency (``latency``), which only
        readers show."""
        tenant, key = tracked.state.tenant, tracked.state.connector_key
        recent = tracked.window.stats(self._monotonic(), latency=latency)
        around = self.surroundings
        status = derive_status(
            Observed(
                configured=around.configured(tenant, key),
                disabled=around.disabled(tenant, key),
                circuit=around.circuit(tenant, key),
                recent=recent,
                probe_failures=tracked.probe_failures,
                probed=tracked.probed,
                carried=tracked.carried,
            ),
            self._rules,
        )
        previous = tracked.state
        state = dataclasses.replace(previous, status=status, **changes)
        tracked.state = state
        where = (tenant, key)
        if where not in self._unsaved and (tracked.stored or _worth_a_row(state)):
            if previous.status is not status or previous.last_error != state.last_error:
                tracked.stored = True
                self._dirty.discard(where)
                await self._store.put(state, self._clock())
            elif state != previous:
                self._dirty.add(where)
        if previous.status is not status:
            for listener in self.listeners:
                await listener(tenant, key, status)
        return recent

    async def flush(self) -> None:
        """Writes every state changed since it was last written."""
        dirty, self._dirty = self._dirty, set()
        for where in dirty:
            tracked = self._tracked.get(where)
            if tracked is not None:
                await self._store.put(tracked.state, self._clock())

    async def record_success(self, tenant: str, key: str, latency_ms: float = 0.0) -> None:
        now = self._clock()
        tracked = await self._get_tracked(tenant, key)
        tracked.window.add(self._monotonic(), vendor_failure=False, latency_ms=latency_ms)
        tracked.carried = None
        await self._settle(
            tracked,
            latency=False,
            last_success_at=now,
            last_attempt_at=now,
            last_error="",
            consecutive_failures=0,
        )

    async def record_failure(
        self, tenant: str, key: str, error: GatewayError, latency_ms: float = 0.0
    ) -> None:
        """A call that failed after reaching the vendor. Only a failure that says something
        about the vendor counts against it (``health_rules.vendor_verdict``)."""
        tracked = await self._get_tracked(tenant, key)
        verdict = vendor_verdict(error)
        if verdict is not None:
            tracked.window.add(self._monotonic(), vendor_failure=verdict, latency_ms=latency_ms)
            tracked.carried = None
        failures = tracked.state.consecutive_failures + int(error.vendor_fault)
        await self._settle(
            tracked,
            latency=False,
            last_attempt_at=self._clock(),
            last_error=error_summary(error),
            consecutive_failures=failures,
        )

    async def record_probe(
        self, tenant: str, key: str, ok: bool, error: GatewayError | None = None
    ) -> None:
        """A live probe. A passing one clears a probe's error but never a call's (nor hides
        the window's failures); ``error`` says why a failing one failed."""
        tracked = await self._get_tracked(tenant, key)
        tracked.probed = True
        tracked.carried = None
        last_error = tracked.state.last_error
        if ok:
            tracked.probe_failures = 0
            if last_error.startswith(PROBE_FAILED):
                last_error = ""
        else:
            tracked.probe_failures += 1
            last_error = f"{PROBE_FAILED}: {error_summary(error)}" if error else PROBE_FAILED
        await self._settle(tracked, last_error=last_error)
