"""The vendor sandbox contract: an in-process stand-in for a vendor that a connector acts on
when a tenant has no vendor account of its own.

A plugin may declare a sandbox (``ConnectorPlugin.sandbox``): a factory taking the configured
``SandboxFault`` (or None) and returning a ``VendorSandbox``. The gateway starts it, asks it
for each such tenant's account (the plugin's own account model, pointing at the sandbox on
loopback with credentials of that tenant) and builds the connector's real adapter from that
account: only the address and the credentials differ from a real vendor account. What the
sandbox acted on is shown to the tenant's operators (``SandboxService.ShowSandbox``).

``adapters/http/sandbox.py`` is the base of an HTTP vendor's sandbox; ``adapters/email/``
has an SMTP one.
"""

from __future__ import annotations

from typing import Any, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

AccountCo = TypeVar("AccountCo", bound=BaseModel, covariant=True)

MAX_RECEIVED = 100  # what a sandbox keeps per tenant: the newest records


class SandboxFault(BaseModel):
    """Makes a connector's sandbox fail on purpose (``sandbox.fail.<connector>``), so that
    retries, the circuit breaker and unknown outcomes can be tried by hand.

    ``status`` answers that status (HTTP) or reply code (SMTP) instead of acting; ``drop``
    lets the sandbox act and then closes the connection without an answer, so the gateway
    cannot learn the outcome. ``at`` says where, in the sandbox's own terms (for HTTP
    sandboxes ``"POST /v1/things"`` or a path prefix, empty for every request; for email an
    SMTP stage). ``times`` fails that many times, then the sandbox behaves; unset: always.
    """

    model_config = ConfigDict(extra="forbid")

    status: int | None = Field(default=None, ge=400, le=599)
    drop: bool = False
    at: str = ""
    times: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.status is None) == (not self.drop):
            raise ValueError("give either status (400 to 599) or drop = true")
        return self


class FaultSwitch:
    """Counts down a fault's ``times``: whether the next request the fault covers fails."""

    def __init__(self, fault: SandboxFault | None) -> None:
        self.fault = fault
        self._left = fault.times if fault is not None else 0

    def take(self) -> SandboxFault | None:
        """The fault, when this request is to fail (and counts it), else None."""
        if self.fault is None:
            return None
        if self._left is None:
            return self.fault
        if self._left <= 0:
            return None
        self._left -= 1
        return self.fault


class VendorSandbox(Protocol[AccountCo]):
    """A vendor on loopback (or in process) with one account per tenant.

    Tenants' data stay apart: each tenant gets credentials of its own, and the sandbox keeps
    what it received under the tenant those credentials name.
    """

    async def start(self) -> None:
        """Starts serving (a port the system picks); ``account_for`` works from then on."""
        ...

    def account_for(self, tenant: str) -> AccountCo:
        """The tenant's account at this sandbox: the plugin's own account model."""
        ...

    def received(self, tenant: str) -> list[dict[str, Any]]:
        """What the sandbox acted on for ``tenant``, oldest first (JSON values only)."""
        ...

    async def stop(self) -> None:
        """Stops serving and drops open connections; never raises."""
        ...
