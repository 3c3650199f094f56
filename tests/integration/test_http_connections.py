"""Connections to the HTTP side are bounded: in time until a request's headers are in, in time
idle between requests, in time and size for a body, and in number."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import OPERATOR, audit_count, csrf_token, raw_request, status_and_body
from tests.support.waiting import wait_until

WAIT_S = 10  # every timeout under test is far shorter; aiohttp's own backstop far longer


@asynccontextmanager
async def bounded(tmp_path: Path, **http: Any) -> AsyncIterator[RunningGateway]:
    limits = {"header_timeout_s": 30, "idle_timeout_s": 30, "max_connections": 50, **http}
    settings = gateway_settings(tmp_path, http=limits)
    async with running_gateway(
        settings, connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        yield gw


@pytest.fixture
async def short_headers(tmp_path: Path) -> AsyncIterator[RunningGateway]:
    async with bounded(tmp_path, header_timeout_s=0.5) as gw:
        yield gw


async def connect(gw: RunningGateway) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", gw.gateway.http_port)


async def closed_by_gateway(reader: asyncio.StreamReader) -> bytes:
    """Everything the gateway sends until it closes the connection (bounded)."""
    try:
        return await asyncio.wait_for(reader.read(), WAIT_S)
    except ConnectionResetError:
        return b""


def healthz(port: int) -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response on a kept-alive connection: status line, headers, Content-Length body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_S)
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")
    )
    body = await asyncio.wait_for(reader.readexactly(length), WAIT_S)
    return int(lines[0].split(" ")[1]), body


async def served(gw: RunningGateway) -> bool:
    """Whether a new connection is served (rather than refused) right now."""
    reader, writer = await connect(gw)
    try:
        writer.write(healthz(gw.gateway.http_port))
        return (await reader.readline()).startswith(b"HTTP/1.1 200")
    except ConnectionError:
        return False
    finally:
        writer.close()


async def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    short_headers: RunningGateway,
) -> None:
    reader, writer = await connect(short_headers)
    try:
        assert await closed_by_gateway(reader) == b""
    finally:
        writer.close()


async def test_a_connection_that_sends_half_a_request_line_is_closed(
    short_headers: RunningGateway,
) -> None:
    reader, writer = await connect(short_headers)
    try:
        writer.write(b"GET /heal")
        await writer.drain()
        assert await closed_by_gateway(reader) == b""
    finally:
        writer.close()


async def test_headers_trickled_in_forever_are_cut_off(short_headers: RunningGateway) -> None:
    reader, writer = await connect(short_headers)
    closed = asyncio.create_task(closed_by_gateway(reader))
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\n")
        while not closed.done():  # one more header line every 50 ms: never a complete request
            writer.write(b"X-Slow: 1\r\n")
            await asyncio.wait({closed}, timeout=0.05)
        assert closed.result() == b""
    finally:
        closed.cancel()
        writer.close()


async def test_keep_alive_serves_several_requests_then_closes_an_idle_connection(
    tmp_path: Path,
) -> None:
    async with bounded(tmp_path, header_timeout_s=5, idle_timeout_s=0.5) as gw:
        port = gw.gateway.http_port
        reader, writer = await connect(gw)
        try:
            for _ in range(3):  # one connection, one request after another
                writer.write(healthz(port))
                assert await read_response(reader) == (200, b"SERVING\n")
            # Then nothing: idle for longer than http.idle_timeout_s, it is closed.
            assert await closed_by_gateway(reader) == b""
        finally:
            writer.close()


async def test_the_connection_beyond_the_cap_is_refused_while_the_others_are_open(
    tmp_path: Path,
) -> None:
    async with bounded(tmp_path, max_connections=3) as gw:
        port = gw.gateway.http_port
        held = [await connect(gw) for _ in range(3)]
        try:
            for reader, writer in held:  # each served, then kept open (keep-alive)
                writer.write(healthz(port))
                assert (await read_response(reader))[0] == 200
            reader, writer = await connect(gw)
            status, body = status_and_body(await closed_by_gateway(reader))
            writer.close()
            assert (status, body["error"]["reason"]) == (503, "TOO_MANY_CONNECTIONS")
            # The held connections still work.
            reader, writer = held[0]
            writer.write(healthz(port))
            assert (await read_response(reader))[0] == 200
            # Once one closes, a new connection is served again (as soon as the gateway has
            # seen the close, which no event announces: new connections are tried).
            held.pop()[1].close()
            await wait_until(lambda: served(gw), timeout_s=WAIT_S, what="a connection served")
        finally:
            for _, writer in held:
                writer.close()


async def test_a_body_that_does_not_arrive_in_time_is_refused_and_the_connection_closed(
    tmp_path: Path,
) -> None:
    async with bounded(tmp_path, body_timeout_s=0.5) as gw:
        port = gw.gateway.http_port
        token = await csrf_token(gw, headers=OPERATOR)
        request = raw_request(
            "POST",
            "/v1/approvals/apr_000000000000000000000000/approve",
            port,
            {**OPERATOR, "X-CSRF-Token": token},
            b'{"note": "x"}',
        )
        head, _, body = request.partition(b"\r\n\r\n")
        head = head.replace(b"Content-Length: 13", b"Content-Length: 100")
        before = audit_count(gw)
        reader, writer = await connect(gw)
        try:
            writer.write(head + b"\r\n\r\n" + body)  # 13 of the 100 bytes announced
            status, answer = status_and_body(await closed_by_gateway(reader))
        finally:
            writer.close()
        assert (status, answer["error"]["reason"]) == (408, "BODY_TIMEOUT")
        assert audit_count(gw) == before + 1
        assert gw.audit_rows()[-1]["reason"] == "BODY_TIMEOUT"
