"""The gateway's signal that it has begun to stop, and the waits it interrupts.

The composition root owns one ``Stopping`` and begins it first thing in ``Gateway.stop``
(SIGTERM, SIGINT). A call waiting inside the gateway (a retry's backoff, a rate-limit token,
an earlier call with the same idempotency key) stops waiting at once and is answered
``SHUTTING_DOWN``, rather than starting a vendor attempt late in the grace period or holding
the shutdown. An attempt already at the vendor is never interrupted: it finishes within the
grace period.
"""

from __future__ import annotations

import asyncio

from gateway.errors import ShuttingDown


def shutting_down() -> ShuttingDown:
    return ShuttingDown(
        "the gateway is stopping and did not start this call's next step; retry with the same "
        "idempotency key against another replica, or here once it is back"
    )


class Stopping:
    def __init__(self) -> None:
        self._begun = asyncio.Event()

    def begin(self) -> None:
        self._begun.set()

    @property
    def begun(self) -> bool:
        return self._begun.is_set()

    async def sleep(self, seconds: float) -> None:
        """Sleeps ``seconds``; raises ShuttingDown as soon as the gateway begins to stop."""
        if self.begun:
            raise shutting_down()
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await self._begun.wait()
        except TimeoutError:
            return
        raise shutting_down()

    async def wait(self, event: asyncio.Event) -> None:
        """Waits until ``event`` is set; raises ShuttingDown as soon as the gateway begins to
        stop."""
        if event.is_set():
            return
        if self.begun:
            raise shutting_down()
        waits = (asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._begun.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        if not event.is_set():
            raise shutting_down()
