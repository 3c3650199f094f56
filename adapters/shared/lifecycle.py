"""What a vendor adapter opens once and closes on shutdown, and the secret it opens it with.

An adapter holds one thing built from its account's secret (an HTTP client, an API over one):
built when the gateway starts the adapter or by the first call that needs it, closed when the
gateway stops it. ``Lifecycle`` keeps that thing and its states; ``load_secret`` reads the
secret and reports an unreadable or empty one the way every adapter does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

from gateway.errors import NotConfigured, ShuttingDown

T = TypeVar("T")
S = TypeVar("S")


def _always() -> bool:
    return True


class Lifecycle(Generic[T]):
    """One adapter's ``T``: opened by ``initialize`` or by the first ``get``, closed by
    ``shutdown``.

    Once shut down, ``get`` refuses with ``ShuttingDown`` until ``initialize`` runs again,
    which calls ``opens`` anew (so a rotated secret file is picked up). While ``configured()``
    is false, ``initialize`` opens nothing (the gateway starts every adapter, configured or
    not) and ``get`` refuses with ``NotConfigured`` naming what the account ``needs``. One lock
    orders opening and closing: concurrent first calls open once, and a shutdown never leaves
    open what an ``initialize`` was opening.

    An adapter whose account model requires everything it needs passes no ``configured``;
    ``shutting_down`` replaces the default words of the refusal.
    """

    def __init__(
        self,
        connector: str,
        opens: Callable[[], Awaitable[T]],
        closes: Callable[[T], Awaitable[None]],
        *,
        configured: Callable[[], bool] = _always,
        needs: str = "",
        shutting_down: str | None = None,
    ) -> None:
        self._opens = opens
        self._closes = closes
        self._configured = configured
        self._not_configured = f"{connector}: {needs} must be configured"
        self._shutting_down = shutting_down or f"the {connector} connector is shutting down"
        self._value: T | None = None
        self._closed = False
        self._lock = asyncio.Lock()

    async def initialize(self) -> None:
        """Opens ``T`` unless it is open or the account is not configured; ends a shutdown."""
        async with self._lock:
            self._closed = False
            if self._value is None and self._configured():
                self._value = await self._opens()

    async def get(self) -> T:
        """The open ``T``; opened now if nothing has opened it yet."""
        self._refuse()
        if self._value is None:
            async with self._lock:
                self._refuse()  # a shutdown may have come while this call waited
                if self._value is None:
                    self._value = await self._opens()
        return self._value

    def _refuse(self) -> None:
        if self._closed:
            raise ShuttingDown(self._shutting_down)
        if not self._configured():
            raise NotConfigured(self._not_configured)

    async def shutdown(self) -> None:
        """Refuses new calls at once, then closes ``T``. A lazy open never ends a shutdown;
        only ``initialize`` does."""
        self._closed = True
        async with self._lock:
            self._closed = True  # again: an initialize that had the lock first ended it
            value, self._value = self._value, None
            if value is not None:
                await self._closes(value)


async def load_optional_secret(
    read: Callable[[], S | None],
    *,
    unreadable: str,
    metadata: Mapping[str, str] | None = None,
) -> S | None:
    """What ``read`` returns, read off the event loop (it may read a file). An OSError is
    ``NotConfigured``: ``unreadable`` (which names the setting) and the system's reason,
    never the file's contents."""
    try:
        return await asyncio.to_thread(read)
    except OSError as exc:
        raise NotConfigured(
            f"{unreadable}: {exc.strerror or type(exc).__name__}", metadata=metadata
        ) from None


async def load_secret(
    read: Callable[[], S | None],
    *,
    unreadable: str,
    empty: str,
    metadata: Mapping[str, str] | None = None,
) -> S:
    """As ``load_optional_secret``, for a secret the adapter cannot work without: a missing
    or empty one is ``NotConfigured`` saying ``empty``."""
    secret = await load_optional_secret(read, unreadable=unreadable, metadata=metadata)
    if not secret:
        raise NotConfigured(empty, metadata=metadata)
    return secret
