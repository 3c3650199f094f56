"""Connector health: status changes are written at once, timestamps behind, and the board
always reads the latest state. The rules themselves: ``test_health_rules.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.contract import ConnectorStatus
from gateway.errors import VendorRejected, VendorUnavailable
from gateway.health_state import HealthTracker
from gateway.store import sqlite
from gateway.store.sync_states import SyncStateStore

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SyncStateStore]:
    path = tmp_path / "gateway.db"
    await sqlite.migrate(path)
    db = await sqlite.Database.open(path)
    yield SyncStateStore(db)
    await db.close()


async def test_status_changes_are_written_at_once_times_on_flush(store: SyncStateStore) -> None:
    clock = Clock()
    health = HealthTracker(store, clock=clock)
    await health.record_success("t", "email")
    stored = await store.get("t", "email")
    assert stored is not None
    assert (stored.status, stored.last_success_at) == (ConnectorStatus.OK, T0)

    clock.now = T0 + timedelta(seconds=5)
    await health.record_success("t", "email")  # same status: no write yet
    stored = await store.get("t", "email")
    assert stored is not None
    assert stored.last_success_at == T0
    current = await health.get("t", "email")
    assert current is not None
    assert current.last_success_at == clock.now  # the board reads the latest
    await health.flush()
    stored = await store.get("t", "email")
    assert stored is not None
    assert stored.last_success_at == clock.now

    await health.record_failure("t", "email", VendorUnavailable("relay down"))
    stored = await store.get("t", "email")
    assert stored is not None
    assert stored.status is ConnectorStatus.DEGRADED  # one of two recent calls failed
    assert stored.last_error == "VENDOR_UNAVAILABLE"
    assert stored.last_success_at == clock.now


async def test_the_last_error_holds_reason_phase_and_codes_only(store: SyncStateStore) -> None:
    """What the board shows never quotes a message or what the vendor said: either can hold
    the request's personal data."""
    health = HealthTracker(store, clock=Clock())
    rejected = VendorRejected(
        "refused jane@example.org",
        metadata={
            "phase": "rcpt",
            "vendor_code": "550",
            "vendor_message": "5.1.1 <jane@example.org> unknown",
            "refused": "jane@example.org=550",
        },
    )
    await health.record_failure("t", "email", rejected)
    state = await health.get("t", "email")
    assert state is not None
    assert state.last_error == "VENDOR_REJECTED (phase rcpt, vendor code 550)"
    http = VendorUnavailable(
        "acme answered 503", metadata={"vendor_status": "503", "vendor_code": "jane doe"}
    )
    await health.record_failure("t", "acme", http)  # a code that is text is left out
    state = await health.get("t", "acme")
    assert state is not None
    assert state.last_error == "VENDOR_UNAVAILABLE (vendor status 503)"
    await health.record_probe("t", "mute", False)
    state = await health.get("t", "mute")
    assert state is not None
    assert state.last_error == "PROBE_FAILED"
