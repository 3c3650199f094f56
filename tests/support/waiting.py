"""Waiting for what a test can observe, within a bounded time.

Prefer an event (an ``asyncio.Event`` a fake sets, the next message of a stream). Polling a
cheap condition, such as a row appearing in the database, is for what announces itself by no
event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

POLL_S = 0.01


async def wait_until(
    condition: Callable[[], T | Awaitable[T]], *, timeout_s: float = 10.0, what: str
) -> T:
    """Returns the first truthy value of ``condition()`` (a function or a coroutine function);
    fails naming ``what`` when none came within ``timeout_s``."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + timeout_s
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if loop.time() >= give_up_at:
            raise AssertionError(f"{what}: not seen within {timeout_s} s")
        await asyncio.sleep(POLL_S)


async def wait_event(event: asyncio.Event, *, timeout_s: float = 10.0, what: str) -> None:
    """Waits for ``event``; fails naming ``what`` when it was not set within ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        raise AssertionError(f"{what}: not seen within {timeout_s} s") from None
