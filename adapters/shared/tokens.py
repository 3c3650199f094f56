"""Access tokens obtained from a grant (OAuth 2.0 JWT bearer), one request at a time.

Concurrent calls that find the token missing, expired or rejected share one token request
per vendor account (single flight): fifty calls on an expired token make one request, not
fifty. A waiter that goes away (its deadline ran out) does not cancel the request the others
wait for. A failed request fails every waiter and is not cached: the next call asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float | None = None  # monotonic seconds; None: until the vendor rejects it


Fetch = Callable[[float], Awaitable[AccessToken]]  # the time left, in seconds


class SingleFlightTokens:
    """The current access token of one vendor account."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        refresh_before_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._refresh_before_s = refresh_before_s
        self._clock = clock
        self._token: AccessToken | None = None
        self._pending: asyncio.Task[AccessToken] | None = None

    def _usable(self, token: AccessToken | None) -> bool:
        if token is None:
            return False
        if token.expires_at is None:
            return True
        return self._clock() < token.expires_at - self._refresh_before_s

    async def get(self, timeout_s: float) -> str:
        """A token that is not known to be expired or rejected; obtains one if needed."""
        if self._usable(self._token):
            assert self._token is not None
            return self._token.value
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._obtain(timeout_s))
        async with asyncio.timeout(timeout_s):
            token = await asyncio.shield(self._pending)
        return token.value

    async def _obtain(self, timeout_s: float) -> AccessToken:
        token = await self._fetch(timeout_s)
        self._token = token
        return token

    def reject(self, value: str) -> None:
        """The vendor refused ``value`` (401): the next ``get`` obtains a new token. A token
        obtained since is kept, so a burst of refusals of one token makes one request."""
        if self._token is not None and self._token.value == value:
            self._token = None

    def forget(self) -> None:
        """Drops the token (shutdown, a changed account)."""
        self._token = None
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
        self._pending = None
