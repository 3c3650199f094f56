"""Bounds on the HTTP side's connections, which aiohttp leaves open-ended.

aiohttp has no header timeout and no cap on connections. ``ConnectionGuard`` wraps its
protocol factory: each connection must complete a request's headers within
``header_timeout_s`` of opening (or of its first byte after a response), may sit idle between
requests for ``idle_timeout_s``, and is otherwise closed; beyond ``max_connections`` open
connections a new one is answered 503 ``TOO_MANY_CONNECTIONS`` and closed without reading
it. While a handler runs, the connection has no timer: the handler bounds its own body read.
A middleware tells the guard when a handler starts and ends, since only aiohttp's parser
knows where one request's headers end.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

log = logging.getLogger(__name__)

REFUSAL_LOG_EVERY_S = 10.0  # a flood of refused connections logs one line per period


class _Phase(enum.Enum):
    AWAITING_HEADERS = "awaiting headers"
    HANDLING = "handling"
    IDLE = "idle"


class ConnectionGuard:
    def __init__(
        self,
        *,
        header_timeout_s: float,
        idle_timeout_s: float,
        max_connections: int,
        refusal: bytes,
    ) -> None:
        self.header_timeout_s = header_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self._refusal = refusal  # the complete response sent to a connection beyond the cap
        self._open: dict[asyncio.BaseTransport, _GuardedConnection] = {}
        self._refused_unlogged = 0
        self._refusal_logged_at = -REFUSAL_LOG_EVERY_S

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def protocol_factory(
        self, make_protocol: Callable[[], asyncio.Protocol]
    ) -> Callable[[], asyncio.Protocol]:
        """Wraps aiohttp's protocol factory (its low-level ``Server``)."""
        return lambda: _GuardedConnection(self, make_protocol)

    def middleware(self) -> Middleware:
        """Outermost middleware: the connection has no timer while a handler runs."""

        @web.middleware
        async def track(request: web.Request, handler: Handler) -> web.StreamResponse:
            connection = self._open.get(request.transport) if request.transport else None
            if connection is not None:
                connection.enter(_Phase.HANDLING)
            try:
                return await handler(request)
            finally:
                if connection is not None:
                    connection.enter(_Phase.IDLE)

        return track

    def admit(self, transport: asyncio.Transport, connection: _GuardedConnection) -> bool:
        """Counts the connection in, or answers and closes it when the cap is reached."""
        if len(self._open) >= self.max_connections:
            self._note_refusal()
            transport.write(self._refusal)
            transport.close()
            return False
        self._open[transport] = connection
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        self._open.pop(transport, None)

    def _note_refusal(self) -> None:
        self._refused_unlogged += 1
        now = time.monotonic()
        if now - self._refusal_logged_at >= REFUSAL_LOG_EVERY_S:
            log.warning(
                "refused %d HTTP connection(s): http.max_connections (%d) are open",
                self._refused_unlogged,
                self.max_connections,
            )
            self._refused_unlogged = 0
            self._refusal_logged_at = now


class _GuardedConnection(asyncio.Protocol):
    """One connection: aiohttp's protocol inside, a timer for the phase it is in."""

    def __init__(self, guard: ConnectionGuard, make_protocol: Callable[[], asyncio.Protocol]):
        self._guard = guard
        self._make_protocol = make_protocol
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._phase = _Phase.AWAITING_HEADERS
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if not self._guard.admit(transport, self):
            return
        self._transport = transport
        self._inner = self._make_protocol()
        self._inner.connection_made(transport)
        self.enter(_Phase.AWAITING_HEADERS)

    def enter(self, phase: _Phase) -> None:
        self._phase = phase
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        limit = {
            _Phase.AWAITING_HEADERS: self._guard.header_timeout_s,
            _Phase.IDLE: self._guard.idle_timeout_s,
        }.get(phase)
        if limit is not None and self._transport is not None:
            self._timer = asyncio.get_running_loop().call_later(limit, self._expire)

    def _expire(self) -> None:
        self._timer = None
        if self._transport is not None:
            log.debug("closing an HTTP connection %s for too long", self._phase.value)
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return  # refused: nothing it sends is read
        if self._phase is _Phase.IDLE:
            self.enter(_Phase.AWAITING_HEADERS)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._guard.release(self._transport)
            self._transport = None
        if self._inner is not None:
            self._inner.connection_lost(exc)
            self._inner = None
