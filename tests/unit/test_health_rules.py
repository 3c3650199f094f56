"""The rules of a connector's status: the recent window, probes, the breaker and switches.

Driven through ``HealthTracker`` with clocks moved by hand, as the gateway drives it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.contract import ConnectorStatus
from gateway.errors import (
    CircuitOpen,
    InvalidPayload,
    VendorAuthFailed,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from gateway.health_rules import HealthRules, Observed, derive_status
from gateway.health_state import HealthTracker
from gateway.health_window import WindowStats
from gateway.reliability.breaker import CircuitState
from gateway.store import sqlite
from gateway.store.sync_states import SyncStateStore
from tests.support.clock import ManualClock

OK, DEGRADED, ERROR = ConnectorStatus.OK, ConnectorStatus.DEGRADED, ConnectorStatus.ERROR
RULES = HealthRules(
    window_calls=4, window_s=60.0, degraded_failure_ratio=0.5, probe_failures_for_error=2
)
DOWN = VendorUnavailable("the vendor is down")


@dataclass
class Around:
    """Surroundings a test sets by hand."""

    circuit_state: CircuitState = CircuitState.CLOSED
    switched_off: set[tuple[str, str]] = field(default_factory=set)
    unconfigured: set[tuple[str, str]] = field(default_factory=set)

    def configured(self, tenant: str, key: str) -> bool:
        return (tenant, key) not in self.unconfigured

    def disabled(self, tenant: str, key: str) -> bool:
        return (tenant, key) in self.switched_off

    def circuit(self, tenant: str, key: str) -> CircuitState:
        return self.circuit_state


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SyncStateStore]:
    path = tmp_path / "gateway.db"
    await sqlite.migrate(path)
    db = await sqlite.Database.open(path)
    yield SyncStateStore(db)
    await db.close()


def tracker(
    store: SyncStateStore, clock: ManualClock, around: Around | None = None
) -> HealthTracker:
    return HealthTracker(
        store,
        rules=RULES,
        surroundings=around or Around(),
        clock=clock.now,
        monotonic=clock.monotonic,
    )


async def status(health: HealthTracker, key: str = "x") -> ConnectorStatus:
    return (await health.get("t", key)).status


async def test_degraded_at_the_share_of_vendor_failures_in_the_window(
    store: SyncStateStore,
) -> None:
    health = tracker(store, ManualClock())
    assert await status(health) is ConnectorStatus.UNKNOWN
    for _ in range(2):
        await health.record_success("t", "x", latency_ms=10)
    await health.record_failure("t", "x", DOWN, latency_ms=30)
    assert await status(health) is OK  # 1 of 3: below half
    await health.record_failure("t", "x", DOWN, latency_ms=40)
    assert await status(health) is DEGRADED  # 2 of 4
    snapshot = await health.snapshot("t", "x")
    assert snapshot.recent == WindowStats(calls=4, vendor_failures=2, latency_p95_ms=40)
    await health.record_success("t", "x")
    assert await status(health) is DEGRADED  # the last 4: S F F S
    await health.record_success("t", "x")
    assert await status(health) is DEGRADED  # F F S S
    await health.record_success("t", "x")
    assert await status(health) is OK  # F S S S
    assert (await health.snapshot("t", "x")).recent.failure_ratio == 0.25


async def test_the_vendor_refusing_a_request_never_counts_against_it(
    store: SyncStateStore,
) -> None:
    health = tracker(store, ManualClock())
    refusals = [
        VendorRejected("no such recipient", metadata={"vendor_code": "550"}),
        VendorRateLimited("slow down"),
        VendorRejected("amount too small"),
    ]
    for refusal in refusals:
        await health.record_failure("t", "x", refusal)
    state = await health.get("t", "x")
    assert (state.status, state.consecutive_failures) == (OK, 0)  # the vendor answered
    assert (await health.snapshot("t", "x")).recent == WindowStats(calls=3)
    # The gateway's own refusals between attempts say nothing: not in the window at all.
    await health.record_failure("t", "y", CircuitOpen("open"))
    await health.record_failure("t", "y", InvalidPayload("bad"))
    assert (await health.snapshot("t", "y")).recent.calls == 0
    assert await status(health, "y") is ConnectorStatus.UNKNOWN


async def test_failures_leave_the_window_with_time(store: SyncStateStore) -> None:
    clock = ManualClock()
    health = tracker(store, clock)
    await health.record_failure("t", "x", DOWN)
    assert await status(health) is DEGRADED
    await health.record_probe("t", "x", True)  # a probe passing hides no call failure
    assert await status(health) is DEGRADED
    clock.advance(60.5)
    await health.refresh_all()
    stored = await store.get("t", "x")
    assert stored is not None
    assert stored.status is OK  # written without anything new recorded


async def test_probes_degrade_then_fail_the_connector(store: SyncStateStore) -> None:
    health = tracker(store, ManualClock())
    auth = VendorAuthFailed("refused", metadata={"vendor_status": "401"})
    await health.record_probe("t", "x", False, auth)
    state = await health.get("t", "x")
    assert (state.status, state.last_error) == (
        DEGRADED,
        "PROBE_FAILED: VENDOR_AUTH_FAILED (vendor status 401)",
    )
    await health.record_probe("t", "x", False, auth)
    assert await status(health) is ERROR  # two in a row
    await health.record_probe("t", "x", True)
    state = await health.get("t", "x")
    assert (state.status, state.last_error) == (OK, "")
    # A failing probe with recent successes: degraded.
    await health.record_success("t", "x")
    await health.record_probe("t", "x", False)
    assert await status(health) is DEGRADED


async def test_the_breaker_switches_and_configuration(store: SyncStateStore) -> None:
    around = Around()
    health = tracker(store, ManualClock(), around)
    await health.record_success("t", "x")
    around.circuit_state = CircuitState.OPEN
    assert await status(health) is ERROR
    around.circuit_state = CircuitState.HALF_OPEN
    assert await status(health) is DEGRADED
    around.circuit_state = CircuitState.CLOSED
    assert await status(health) is OK
    around.unconfigured.add(("t", "x"))
    assert await status(health) is ConnectorStatus.NOT_CONFIGURED
    around.switched_off.add(("t", "x"))
    assert await status(health) is ConnectorStatus.DISABLED  # an operator's word comes first
    stored = await store.get("t", "x")
    assert stored is not None
    assert stored.status is ConnectorStatus.DISABLED


async def test_listeners_hear_each_change_once(store: SyncStateStore) -> None:
    heard: list[tuple[str, str, ConnectorStatus]] = []

    async def listen(tenant: str, key: str, new: ConnectorStatus) -> None:
        heard.append((tenant, key, new))

    health = tracker(store, ManualClock())
    health.listeners.append(listen)
    await health.record_success("t", "x")
    await health.record_success("t", "x")
    await health.record_failure("t", "x", DOWN)
    await health.record_failure("t", "x", DOWN)
    assert heard == [("t", "x", OK), ("t", "x", DEGRADED)]


async def test_a_restart_shows_the_stored_status_until_something_new_is_seen(
    store: SyncStateStore,
) -> None:
    before = tracker(store, ManualClock())
    await before.record_probe("t", "x", False)
    await before.record_probe("t", "x", False)
    assert await status(before) is ERROR
    after = tracker(store, ManualClock())
    assert await status(after) is ERROR  # carried over
    await after.record_success("t", "x")
    assert await status(after) is OK


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        (Observed(), ConnectorStatus.UNKNOWN),
        (Observed(carried=DEGRADED), DEGRADED),
        (Observed(probed=True), OK),
        (Observed(recent=WindowStats(calls=2, vendor_failures=1)), DEGRADED),
        (Observed(recent=WindowStats(calls=3, vendor_failures=1)), OK),
        (Observed(probed=True, probe_failures=1), DEGRADED),
        (Observed(probed=True, probe_failures=2), ERROR),
        (Observed(circuit=CircuitState.OPEN, probed=True), ERROR),
        (Observed(circuit=CircuitState.HALF_OPEN), DEGRADED),
        (Observed(configured=False, probe_failures=5), ConnectorStatus.NOT_CONFIGURED),
        (Observed(disabled=True, configured=False), ConnectorStatus.DISABLED),
    ],
)
def test_the_first_rule_that_holds_decides(seen: Observed, expected: ConnectorStatus) -> None:
    assert derive_status(seen, RULES) is expected
