"""Limiting the audit rows that unauthenticated refusals cost, per peer.

Anyone who can reach the gateway can send calls without valid credentials, and every refusal
used to cost a durable, fsynced audit row: an easy way to fill the disk and starve the audit
writer. Each peer (an IPv4 address, an IPv6 /64 network, or the local socket) has a token
bucket: within it every unauthenticated refusal keeps its own row; beyond it the refusal is
answered exactly the same but only counted. The counts are written as one
``refusals_summarized`` row per peer every ``refusal_summary_every_s`` and on shutdown, so
nothing counted is lost. Refusals of authenticated callers are never limited.

The gRPC side and the HTTP side share one limiter: a peer's budget is the same on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from gateway.audit.events import refusals_summarized
from gateway.audit.record import AuditLog
from gateway.clock import to_text, utc_now
from gateway.errors import GatewayError, Unauthenticated
from gateway.reliability.rate_limit import TokenBucket

log = logging.getLogger(__name__)

MAX_PEERS = 10_000  # beyond this many peers in one interval, new ones share one bucket
OTHER_PEERS = "other peers"
IPV6_PREFIX = 64  # one host's privacy addresses share a /64: one budget for all of them


def peer_key(peer: str) -> str:
    """Whom a budget belongs to: the address of a gRPC peer (``ipv4:1.2.3.4:5678``,
    ``ipv6:[::1]:5678``, ``unix:...``) or of an HTTP remote (``1.2.3.4``), without the port,
    which changes with every connection."""
    text = unquote(peer.strip())
    if text.startswith(("unix:", "unix-abstract:")):
        return "unix"
    if text.startswith("ipv4:"):
        text = text.removeprefix("ipv4:").rpartition(":")[0]
    elif text.startswith("ipv6:"):
        text = text.removeprefix("ipv6:").rpartition("]")[0].lstrip("[")
    try:
        address = ipaddress.ip_address(text.partition("%")[0])  # no IPv6 zone
    except ValueError:
        return text or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if not address.is_loopback:
            return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


@dataclass
class _Budget:
    bucket: TokenBucket
    suppressed: Counter[str] = field(default_factory=Counter)  # by reason
    first_at: str = ""
    last_at: str = ""


class RefusalLimiter:
    """Per-peer token buckets over the audit rows of unauthenticated refusals."""

    def __init__(
        self,
        audit: AuditLog,
        *,
        per_s: float,
        burst: int,
        summary_every_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._audit = audit
        self._per_s = per_s
        self._burst = burst
        self._summary_every_s = summary_every_s
        self._clock = clock
        self._budgets: dict[str, _Budget] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def admit(self, peer: str, error: GatewayError) -> bool:
        """Whether this refusal gets its own audit row; if not, it is counted for the peer's
        summary row. Only refusals of unauthenticated calls are ever held back."""
        if self._closed or not isinstance(error, Unauthenticated):
            return True
        key = peer_key(peer)
        budget = self._budgets.get(key)
        if budget is None:
            if len(self._budgets) >= MAX_PEERS:
                key = OTHER_PEERS
                budget = self._budgets.get(key)
            if budget is None:
                budget = self._budgets[key] = self._budget(key)
        if budget.bucket.try_take():
            return True
        moment = to_text(utc_now())
        budget.first_at = budget.first_at or moment
        budget.last_at = moment
        budget.suppressed[error.reason] += 1
        return False

    def _budget(self, key: str) -> _Budget:
        return _Budget(TokenBucket(key, self._per_s, self._burst, clock=self._clock))

    def start(self) -> None:
        """Writes the summary rows every ``summary_every_s`` until closed."""
        self._task = asyncio.create_task(self._run(), name="refusal summaries")

    async def close(self) -> None:
        """Stops counting and writes the summary rows of everything counted."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.summarize()

    async def summarize(self) -> int:
        """Writes one ``refusals_summarized`` row per peer with refusals counted since the
        last summary; returns how many refusals they account for."""
        due = []
        for key, budget in list(self._budgets.items()):
            if budget.suppressed:
                due.append((key, budget.suppressed, budget.first_at, budget.last_at))
                budget.suppressed, budget.first_at, budget.last_at = Counter(), "", ""
            elif budget.bucket.full:
                del self._budgets[key]  # refilled: the same as a fresh budget
        written = 0
        for key, counts, first_at, last_at in due:
            try:
                await self._audit.append(refusals_summarized(key, counts, first_at, last_at))
            except Exception:
                log.exception("writing the summary of %d refusals failed", counts.total())
                self._restore(key, counts, first_at, last_at)
                continue
            written += counts.total()
        return written

    def _restore(self, key: str, counts: Counter[str], first_at: str, last_at: str) -> None:
        """Puts counts back whose summary row could not be written, for the next summary."""
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = self._budget(key)
        budget.suppressed.update(counts)
        budget.first_at = min(filter(None, (budget.first_at, first_at)))
        budget.last_at = max(budget.last_at, last_at)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._summary_every_s)
            try:
                await self.summarize()
            except Exception:  # never stop summarizing
                log.exception("summarizing refusals failed")
