"""A fake HTTP vendor on 127.0.0.1 that misbehaves on cue, for tests of HTTP adapters.

``fault_vendor()`` runs an aiohttp low-level web server in the test's own event loop on a
port the OS picks, and yields a ``FaultVendor``. Each incoming request consumes the next
fault queued with ``FaultVendor.script``; with the queue empty the answer is the default
success ``200 {"id": "obj_<n>", "echo": <request JSON>}`` where ``n`` counts the requests
recorded so far (a request without a body echoes its query parameters, or null).

Faults:

* ``status(code, body=None, headers=None)``: read and record the request, answer ``code``
  with ``body`` (JSON unless it is ``str``/``bytes``) and ``headers``.
* ``reset_before()``: abort the TCP connection with a reset (RST, ``SO_LINGER`` 0) before
  reading the request body, and record nothing. aiohttp's server has parsed the request line
  and headers before any handler runs; the body is never read and nothing is acted on.
* ``reset_after()``: read the whole request and record it, then abort the connection with
  a reset instead of answering.
* ``slow(seconds)``: read and record the request, sleep ``seconds``, then answer the default
  success. The sleep ends early if the client goes away (handler cancellation).
* ``held()``: read and record the request, then answer the default success only once the
  test calls ``FaultVendor.release()`` (or not at all if the client goes away first).
* ``malformed_json()``: read and record the request, answer 200 with the body ``{"id": ``
  and ``Content-Type: application/json``.
* ``large(size, code=200, declare_length=True)``: read and record the request, answer
  ``code`` with a JSON body of exactly ``size`` bytes, written in 64 KiB chunks (with a
  Content-Length, or chunked), stopping when the client goes away. ``body_bytes_sent``
  counts what was written; ``large_done`` is set when the answer ended either way.

What a client can observe of the two resets: in both, the TCP connection is established (the
kernel completes the handshake before the server even accepts), then closed by a reset
without a single byte of answer. The client cannot tell them apart: it only learns that the
connection dropped after it was established, i.e. that the vendor *may* have acted. Only the
vendor's records (``requests``) differ: nothing for ``reset_before``, the request for
``reset_after``.

Only requests whose body was fully read are in ``requests``, each with the event loop's time
it was read (``received_at``); ``connections`` counts the TCP connections accepted. Nothing
sleeps longer than asked and the server stops (aborting any connection left) when the context
exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.http.sandbox import reset_connection

HOST = "127.0.0.1"
SHUTDOWN_TIMEOUT_S = 0.5  # how long a handler still running at exit may take to finish


class FaultKind(enum.StrEnum):
    STATUS = "status"
    RESET_BEFORE = "reset_before"
    RESET_AFTER = "reset_after"
    SLOW = "slow"
    MALFORMED_JSON = "malformed_json"
    LARGE = "large"
    HELD = "held"


@dataclass(frozen=True)
class Fault:
    """One scripted answer; build it with the functions below."""

    kind: FaultKind
    code: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    size: int = 0
    declare_length: bool = True


def status(code: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Fault:
    """Answer ``code`` with ``body`` (JSON, or raw when ``str``/``bytes``) and ``headers``."""
    return Fault(FaultKind.STATUS, code=code, body=body, headers=tuple((headers or {}).items()))


def reset_before() -> Fault:
    """Reset the connection before reading the request body; record nothing."""
    return Fault(FaultKind.RESET_BEFORE)


def reset_after() -> Fault:
    """Read and record the whole request, then reset the connection without answering."""
    return Fault(FaultKind.RESET_AFTER)


def slow(seconds: float) -> Fault:
    """Read and record the request, wait ``seconds``, then answer the default success."""
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    return Fault(FaultKind.SLOW, seconds=seconds)


def held() -> Fault:
    """Read and record the request, then answer the default success once released."""
    return Fault(FaultKind.HELD)


def malformed_json() -> Fault:
    """Answer 200 with a truncated JSON body."""
    return Fault(FaultKind.MALFORMED_JSON)


_LARGE_HEAD, _LARGE_TAIL = b'{"pad": "', b'"}'
_CHUNK = 64 * 1024


def large(size: int, code: int = 200, *, declare_length: bool = True) -> Fault:
    """Answer ``code`` with a JSON body of ``size`` bytes, streamed."""
    if size < len(_LARGE_HEAD) + len(_LARGE_TAIL):
        raise ValueError("size is too small for the JSON wrapper")
    return Fault(FaultKind.LARGE, code=code, size=size, declare_length=declare_length)


MALFORMED_BODY = b'{"id": '


@dataclass(frozen=True)
class RecordedRequest:
    """One request the vendor read completely. Header names are lowercased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0  # loop.time() when the body had been read

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class FaultVendor:
    def __init__(self) -> None:
        self.url = ""
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self.body_bytes_sent = 0
        self.large_done = asyncio.Event()
        self._released = asyncio.Event()
        self._script: deque[Fault] = deque()
        self._recorded = asyncio.Condition()

    def script(self, *faults: Fault) -> None:
        """Queues faults, consumed one per incoming request, in order."""
        self._script.extend(faults)

    def clear(self) -> None:
        """Drops the scripted faults not consumed yet."""
        self._script.clear()

    def release(self) -> None:
        """Lets every ``held()`` request, now and later, have its answer."""
        self._released.set()

    @property
    def pending(self) -> int:
        """Scripted faults not consumed yet."""
        return len(self._script)

    async def wait_requests(self, n: int, timeout_s: float = 2.0) -> list[RecordedRequest]:
        """Waits until at least ``n`` requests are recorded; TimeoutError after ``timeout_s``."""
        try:
            async with asyncio.timeout(timeout_s), self._recorded:
                await self._recorded.wait_for(lambda: len(self.requests) >= n)
        except TimeoutError:
            raise TimeoutError(
                f"the fault vendor recorded {len(self.requests)} requests, not {n}, "
                f"within {timeout_s}s"
            ) from None
        return list(self.requests)

    async def _record(self, request: web.BaseRequest) -> RecordedRequest:
        body = await request.read()
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
            received_at=asyncio.get_running_loop().time(),
        )
        self.requests.append(recorded)
        async with self._recorded:
            self._recorded.notify_all()
        return recorded

    def _success(self, recorded: RecordedRequest) -> web.Response:
        echo: Any
        if not recorded.body:
            echo = recorded.query or None  # a GET echoes its query
        else:
            try:
                echo = recorded.json
            except ValueError:
                echo = recorded.body.decode("utf-8", errors="replace")
        return web.json_response({"id": f"obj_{len(self.requests)}", "echo": echo})

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        fault = self._script.popleft() if self._script else None
        if fault is not None and fault.kind is FaultKind.RESET_BEFORE:
            reset_connection(request)
            return web.Response()  # never sent: the transport is gone
        recorded = await self._record(request)
        if fault is None:
            return self._success(recorded)
        if fault.kind is FaultKind.RESET_AFTER:
            reset_connection(request)
            return web.Response()
        if fault.kind is FaultKind.SLOW:
            await asyncio.sleep(fault.seconds)
            return self._success(recorded)
        if fault.kind is FaultKind.HELD:
            await self._released.wait()
            return self._success(recorded)
        if fault.kind is FaultKind.MALFORMED_JSON:
            return web.Response(status=200, body=MALFORMED_BODY, content_type="application/json")
        if fault.kind is FaultKind.LARGE:
            return await self._large(request, fault)
        headers = dict(fault.headers)
        if fault.body is None:
            return web.Response(status=fault.code, headers=headers)
        if isinstance(fault.body, bytes | str):
            return web.Response(status=fault.code, body=fault.body, headers=headers)
        return web.json_response(fault.body, status=fault.code, headers=headers)

    async def _large(self, request: web.BaseRequest, fault: Fault) -> web.StreamResponse:
        response = web.StreamResponse(status=fault.code)
        response.content_type = "application/json"
        if fault.declare_length:
            response.content_length = fault.size
        try:
            await response.prepare(request)
            await self._write(response, _LARGE_HEAD)
            padding = fault.size - len(_LARGE_HEAD) - len(_LARGE_TAIL)
            while padding > 0:
                await self._write(response, b"x" * min(_CHUNK, padding))
                padding -= min(_CHUNK, padding)
            await self._write(response, _LARGE_TAIL)
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        finally:
            self.large_done.set()
        return response

    async def _write(self, response: web.StreamResponse, chunk: bytes) -> None:
        await response.write(chunk)
        self.body_bytes_sent += len(chunk)


@contextlib.asynccontextmanager
async def fault_vendor() -> AsyncIterator[FaultVendor]:
    """Runs a ``FaultVendor`` on 127.0.0.1 until the block exits."""
    vendor = FaultVendor()
    handlers = web.Server(vendor.handle, handler_cancellation=True, access_log=None)

    def connection() -> asyncio.BaseProtocol:
        vendor.connections += 1
        return handlers()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(connection, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    vendor.url = f"http://{HOST}:{port}"
    try:
        yield vendor
    finally:
        server.close()
        open_transports = [h.transport for h in handlers.connections if h.transport is not None]
        handlers.pre_shutdown()
        with contextlib.suppress(Exception):
            await handlers.shutdown(SHUTDOWN_TIMEOUT_S)
        for transport in open_transports:
            if not transport.is_closing():
                transport.abort()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                await server.wait_closed()
