"""The rules that turn what the gateway observed of a connector into its status.

In order, the first that holds decides (thresholds from ``health.*`` in the settings):

1. ``disabled``: an operator disabled the connector for the tenant.
2. ``not_configured``: no adapter, or no vendor account (and no sandbox) for the tenant.
3. ``error``: the circuit breaker is open (``reliability.breaker_failure_threshold`` vendor
   failures in a row), or the last ``probe_failures_for_error`` probes all failed.
4. ``degraded``: the breaker lets a trial call through (half open), the last probe failed, or
   at least ``degraded_failure_ratio`` of the recent window's calls failed for the vendor's
   fault (the window: the last ``window_calls`` calls of the last ``window_s`` seconds).
5. ``ok``: there were calls in the window, or a probe ran, and none of the above holds.
6. otherwise the status kept from before the gateway restarted, else ``unknown``.

Only failures that say something about the vendor count against it: a vendor refusing a
request for what it contains, or asking the caller to slow down, is a vendor that answers,
and a caller's bad payload never reaches the vendor at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.contract import ConnectorStatus
from gateway.errors import GatewayError, VendorRateLimited, VendorRejected
from gateway.health_window import WindowStats
from gateway.reliability.breaker import CircuitState
from gateway.settings import HealthSettings

# Statuses that describe the vendor, and so may be carried over a restart.
OBSERVED = frozenset({ConnectorStatus.OK, ConnectorStatus.DEGRADED, ConnectorStatus.ERROR})


@dataclass(frozen=True)
class HealthRules:
    window_calls: int = 20
    window_s: float = 600.0
    degraded_failure_ratio: float = 0.2
    probe_failures_for_error: int = 2

    @classmethod
    def from_settings(cls, settings: HealthSettings) -> HealthRules:
        return cls(
            window_calls=settings.window_calls,
            window_s=settings.window_s,
            degraded_failure_ratio=settings.degraded_failure_ratio,
            probe_failures_for_error=settings.probe_failures_for_error,
        )


@dataclass(frozen=True)
class Observed:
    """Everything a connector's status depends on, for one tenant, at one moment."""

    configured: bool = True
    disabled: bool = False
    circuit: CircuitState = CircuitState.CLOSED
    recent: WindowStats = field(default_factory=WindowStats)
    probe_failures: int = 0  # probes failed in a row (0 once one passes)
    probed: bool = False  # a probe ran since the gateway started
    carried: ConnectorStatus | None = None  # kept from before a restart, until new data


def derive_status(seen: Observed, rules: HealthRules) -> ConnectorStatus:
    if seen.disabled:
        return ConnectorStatus.DISABLED
    if not seen.configured:
        return ConnectorStatus.NOT_CONFIGURED
    if seen.circuit is CircuitState.OPEN or seen.probe_failures >= rules.probe_failures_for_error:
        return ConnectorStatus.ERROR
    if (
        seen.circuit is CircuitState.HALF_OPEN
        or seen.probe_failures > 0
        or (seen.recent.calls and seen.recent.failure_ratio >= rules.degraded_failure_ratio)
    ):
        return ConnectorStatus.DEGRADED
    if seen.recent.calls or seen.probed:
        return ConnectorStatus.OK
    return seen.carried or ConnectorStatus.UNKNOWN


def vendor_verdict(error: GatewayError | None) -> bool | None:
    """What a call's outcome says of the vendor: True, it failed; False, it answered (a
    success, or a refusal of the request itself); None, nothing (the gateway's own refusal
    between attempts, such as an open circuit or an empty rate-limit bucket)."""
    if error is None:
        return False
    if error.vendor_fault:
        return True
    if isinstance(error, VendorRejected | VendorRateLimited):
        return False
    return None
