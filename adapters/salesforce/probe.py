"""The live health probe: can the gateway sign in and read the org's limits?"""

from __future__ import annotations

from gateway.contract import ProbeResult
from gateway.errors import GatewayError

from .rest import Budget, SalesforceRest

DEFAULT_PROBE_TIMEOUT_S = 5.0


def _described(error: GatewayError) -> str:
    """The reason, phase, vendor status and code: never the vendor's words."""
    said = [
        f"{key.replace('_', ' ')} {error.metadata[key]}"
        for key in ("phase", "vendor_status", "vendor_code")
        if error.metadata.get(key)
    ]
    return ", ".join([error.reason, *said])


async def probe_limits(rest: SalesforceRest, timeout_s: float) -> ProbeResult:
    """``GET /services/data/<version>/limits``: a cheap read that needs a valid token."""
    try:
        response = await rest.request("GET", "limits", budget=Budget(timeout_s))
    except GatewayError as error:
        return ProbeResult(False, f"GET limits failed: {_described(error)}", error)
    return ProbeResult(True, f"GET limits answered {response.status}")
