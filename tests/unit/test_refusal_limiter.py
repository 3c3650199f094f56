"""The per-peer budget of unauthenticated refusals' audit rows, on a clock the test turns."""

from __future__ import annotations

import pytest

from gateway.audit.record import AuditEvent, StoredEvent
from gateway.audit.refusal_limiter import RefusalLimiter, peer_key
from gateway.errors import CallerNotAllowed, CredentialsMissing, TokenExpired


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Trail:
    """An audit log in memory that can be told to fail its next appends."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self.failures = 0

    async def append(self, event: AuditEvent) -> StoredEvent:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.events.append(event)
        return StoredEvent(len(self.events), f"e{len(self.events)}")


def limiter(trail: Trail, clock: Clock, *, per_s: float = 2.0, burst: int = 3) -> RefusalLimiter:
    return RefusalLimiter(trail, per_s=per_s, burst=burst, summary_every_s=60, clock=clock)


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        ("ipv4:10.1.2.3:51234", "10.1.2.3"),
        ("10.1.2.3", "10.1.2.3"),
        ("ipv6:[::1]:51234", "::1"),
        ("ipv6:%5B::1%5D:51234", "::1"),
        ("ipv6:[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("ipv6:[::ffff:10.1.2.3]:1", "10.1.2.3"),
        ("fe80::1%eth0", "fe80::/64"),
        ("unix:/run/gw.sock", "unix"),
        ("", "unknown"),
    ],
)
def test_peer_key_drops_the_port_and_groups_an_ipv6_host(peer: str, key: str) -> None:
    assert peer_key(peer) == key


async def test_budget_refills_at_the_configured_rate() -> None:
    trail, clock = Trail(), Clock()
    limits = limiter(trail, clock)
    missing = CredentialsMissing("no credentials")
    assert [limits.admit("ipv4:10.0.0.1:1", missing) for _ in range(5)] == [True] * 3 + [False] * 2
    # Another peer has its own budget; a refusal of an authenticated caller is never held.
    assert limits.admit("ipv4:10.0.0.2:1", missing)
    assert limits.admit("ipv4:10.0.0.1:1", CallerNotAllowed("not in the policy"))
    clock.now += 1.0  # two tokens back at 2 per second
    assert [limits.admit("ipv4:10.0.0.1:2", missing) for _ in range(3)] == [True, True, False]

    assert await limits.summarize() == 3
    (summary,) = trail.events
    assert summary.event_type == "refusals_summarized"
    assert summary.detail["peer"] == "10.0.0.1"
    assert summary.detail["count"] == "3"
    assert summary.detail["reasons"] == "CREDENTIALS_MISSING=3"
    assert await limits.summarize() == 0  # counted once


async def test_counts_survive_a_failed_summary_and_are_written_on_close() -> None:
    trail, clock = Trail(), Clock()
    limits = limiter(trail, clock, burst=1)
    for error in (CredentialsMissing("x"), TokenExpired("y"), TokenExpired("z")):
        limits.admit("10.0.0.1", error)
    trail.failures = 1
    assert await limits.summarize() == 0
    limits.admit("10.0.0.1", CredentialsMissing("x"))
    await limits.close()
    (summary,) = trail.events
    assert summary.detail["count"] == "3"
    assert summary.detail["reasons"] == "CREDENTIALS_MISSING=1,TOKEN_EXPIRED=2"
    # Once closed nothing is held back: the row would have no summary left to go to.
    assert limits.admit("10.0.0.1", CredentialsMissing("x"))
