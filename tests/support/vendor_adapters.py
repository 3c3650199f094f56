"""What the tests of the vendor adapters set up alike: the attempt an operation runs in, a
sandbox serving for the length of a block, adapters initialized for a block and shut down
after it, the error a call is to fail with, and the rig of a sandbox test, which gives each
write a marker of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

import aiohttp
import pytest
from pydantic import BaseModel

from gateway.contract import Adapter, AttemptContext, VendorContact
from gateway.errors import GatewayError
from gateway.sandbox import SandboxFault, VendorSandbox

SandboxT = TypeVar("SandboxT", bound=VendorSandbox[Any])
AdapterT = TypeVar("AdapterT", bound=Adapter)
AccountT = TypeVar("AccountT", bound=BaseModel)


def attempt(
    *, marker: str = "", contact: VendorContact | None = None, timeout_s: float = 5.0
) -> AttemptContext:
    """The first attempt of an execution of tenant acme. An adapter reads its marker, the
    contact it reports to and the time left; the execution id only to name it in an error."""
    return AttemptContext(
        tenant="acme",
        execution_id="e1",
        idempotency_key="k1",
        attempt=1,
        timeout_s=timeout_s,
        contact=contact or VendorContact(),
        marker=marker,
    )


@asynccontextmanager
async def _between(
    start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """Runs ``start``, then ``stop`` when the block ends, however it ends."""
    await start()
    try:
        yield
    finally:
        await stop()


@asynccontextmanager
async def serving(sandbox: SandboxT) -> AsyncIterator[SandboxT]:
    """``sandbox``, started, until the block ends."""
    async with _between(sandbox.start, sandbox.stop):
        yield sandbox


@asynccontextmanager
async def initialized(adapter: AdapterT) -> AsyncIterator[AdapterT]:
    """``adapter``, initialized, and shut down when the block ends."""
    async with _between(adapter.initialize, adapter.shutdown):
        yield adapter


@asynccontextmanager
async def tenant_adapters(
    sandbox: VendorSandbox[AccountT], make: Callable[[AccountT], AdapterT]
) -> AsyncIterator[Callable[[str], Awaitable[AdapterT]]]:
    """Builds ``make``'s adapter on a tenant's account at ``sandbox``, initialized, as often as
    a test asks; shuts each down when the block ends."""
    async with AsyncExitStack() as built:

        async def build(tenant: str) -> AdapterT:
            adapter = make(sandbox.account_for(tenant))
            return await built.enter_async_context(initialized(adapter))

        yield build


async def failure(work: Awaitable[Any]) -> GatewayError:
    """The gateway error ``work`` fails with; the test fails when it does not."""
    with pytest.raises(GatewayError) as caught:
        await work
    return caught.value


@dataclass
class SandboxRig(Generic[SandboxT, AdapterT]):
    """A started sandbox, the real adapter on tenant acme's account there, and a client
    session for requests sent as the vendor's own clients send them."""

    sandbox: SandboxT
    adapter: AdapterT
    session: aiohttp.ClientSession
    markers: int = 0

    @classmethod
    @asynccontextmanager
    async def started(
        cls, sandbox: SandboxT, make: Callable[[Any], AdapterT]
    ) -> AsyncIterator[Self]:
        """``sandbox`` serving and ``make``'s adapter initialized on its acme account until the
        block ends."""
        async with (
            serving(sandbox),
            initialized(make(sandbox.account_for("acme"))) as adapter,
            aiohttp.ClientSession() as session,
        ):
            yield cls(sandbox, adapter, session)

    def marker(self) -> str:
        """A new marker, as each execution has its own."""
        self.markers += 1
        return f"{self.markers:064x}"

    async def run(self, operation: str, payload: BaseModel, marker: str = "") -> dict[str, Any]:
        """The operation's result, run with ``marker`` or else a new one."""
        ctx = attempt(marker=marker or self.marker())
        return dict(await self.adapter.execute(operation, payload, ctx))

    async def undo(self, operation: str, original: dict[str, Any]) -> dict[str, Any]:
        """The undo's result, run with a new marker."""
        ctx = attempt(marker=self.marker())
        return dict(await self.adapter.compensate(operation, original, ctx))

    def events(self, tenant: str = "acme") -> list[str]:
        """The event of each record the sandbox kept for ``tenant``, oldest first."""
        return [entry["event"] for entry in self.sandbox.received(tenant)]


def faulty(**fault: Any) -> pytest.MarkDecorator:
    """Gives the test's ``rig`` fixture a sandbox that fails as ``fault`` says."""
    return pytest.mark.parametrize("rig", [SandboxFault(**fault)], indirect=True)


def fault_of(request: pytest.FixtureRequest) -> SandboxFault | None:
    """The fault ``faulty`` gave the ``rig`` fixture; none when the test has no such mark."""
    fault: SandboxFault | None = getattr(request, "param", None)
    return fault
