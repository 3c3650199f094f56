"""Live probes: every configured adapter's ``health_check``, in the background.

A round probes every adapter at once, each bounded by ``health.probe_timeout_s`` (a probe
still running then counts as failed), and waits ``health.probe_interval_s`` give or take
``health.probe_jitter`` before the next. Calls never wait for a probe. A connector an
operator disabled is not probed for that tenant. An adapter shared by every tenant (a test's
fake) is probed once and its result counts for every tenant the gateway knows.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence

from gateway.contract import Adapter, ProbeResult
from gateway.errors import DeadlineExceeded
from gateway.health_state import HealthTracker
from gateway.redaction import redact_error
from gateway.registry import Connector, Registry
from gateway.settings import HealthSettings
from gateway.switches import ConnectorSwitches

log = logging.getLogger(__name__)

SHARED = "*"  # the tenant ``Connector.all_adapters`` names for an adapter serving them all


class Prober:
    def __init__(
        self,
        registry: Registry,
        tracker: HealthTracker,
        switches: ConnectorSwitches,
        tenants: Sequence[str],
        settings: HealthSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        draw: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._registry = registry
        self._tracker = tracker
        self._switches = switches
        self._tenants = tuple(tenants)
        self._settings = settings
        self._sleep = sleep
        self._draw = draw

    def next_wait(self) -> float:
        """The wait before the next round: the interval, jittered."""
        jitter = self._settings.probe_jitter
        return self._settings.probe_interval_s * (1 + self._draw(-jitter, jitter))

    async def run(self) -> None:
        """Probes round after round until cancelled."""
        while True:
            await self.probe_all()
            await self._sleep(self.next_wait())

    async def probe_all(self) -> None:
        """One round: every configured adapter, at once."""
        probes = [
            self._probe(connector, adapter, tenants)
            for connector in self._registry.all()
            if connector.registered
            for tenant, adapter in connector.all_adapters()
            if adapter.configured
            if (tenants := self._enabled(connector, tenant))
        ]
        await asyncio.gather(*probes)

    def _enabled(self, connector: Connector, tenant: str) -> list[str]:
        """The tenants whose state this adapter's probe tells, leaving out disabled ones."""
        tenants = self._tenants if tenant == SHARED else (tenant,)
        return [t for t in tenants if self._switches.disabled(t, connector.key) is None]

    async def _probe(self, connector: Connector, adapter: Adapter, tenants: list[str]) -> None:
        timeout_s = self._settings.probe_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                probe = await adapter.health_check()
        except TimeoutError:
            probe = ProbeResult(
                False,
                "timed out",
                DeadlineExceeded(
                    f"the probe did not finish within {timeout_s:g} s (health.probe_timeout_s)",
                    metadata={"phase": "probe", "timed_out": "true"},
                ),
            )
        except Exception as error:  # one broken probe must not stop the others
            log.warning("probe of %s failed: %s", connector.key, type(error).__name__)
            return
        failure = probe.error  # redacted like a call's error, by the classification
        if failure is not None:
            redact_error(failure, connector.metadata.data_classification)
        for tenant in tenants:
            await self._tracker.record_probe(tenant, connector.key, probe.ok, failure)
