"""The HTTP side: its own reasons, and the approval queue's CSRF check."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.integration.reasons.observe import (
    Observed,
    Scenario,
    approval_asked,
    fake_rig,
    guarded,
    refused_http,
)
from tests.support.gateway import RunningGateway
from tests.support.http import OPERATOR, Answer, call, csrf_token, raw_request

WAIT_S = 10  # far longer than any timeout under test


async def approve_path(gw: RunningGateway) -> str:
    return f"/v1/approvals/{await approval_asked(gw, guarded('k1'))}/approve"


async def csrf_token_invalid(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        path = await approve_path(gw)
        seen = refused_http(await call(gw, "POST", path, headers=OPERATOR, json={}), gw)
        assert seen.audit_row()["caller"] == "local-operator"
        listed = await call(gw, "GET", "/v1/approvals?status=pending", headers=OPERATOR)
        assert len(listed.body["approvals"]) == 1  # still pending
        assert fake.calls == []
        return seen


async def host_not_allowed(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        headers = {**OPERATOR, "Host": "evil.example"}
        seen = refused_http(await call(gw, "GET", "/v1/approvals", headers=headers), gw)
        assert seen.metadata == {"host": "evil.example"}
        return seen


async def origin_not_allowed(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        path = await approve_path(gw)
        token = await csrf_token(gw, headers=OPERATOR)
        headers = {**OPERATOR, "X-CSRF-Token": token, "Origin": "http://evil.example"}
        seen = refused_http(await call(gw, "POST", path, headers=headers, json={}), gw)
        assert seen.metadata == {"origin": "http://evil.example"}
        return seen


async def session_invalid(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        forged = f"connector_gateway_session=9999999999.{'ab' * 32}"
        got = await call(gw, "GET", "/v1/approvals", headers={"Cookie": forged})
        return refused_http(got, gw)


async def login_token_invalid(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        got = await call(gw, "GET", "/login?token=not-the-token", allow_redirects=False)
        seen = refused_http(got, gw)
        assert "Set-Cookie" not in seen.headers
        return seen


async def route_not_found(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        return refused_http(await call(gw, "GET", "/v1/nothing-here", headers=OPERATOR), gw)


async def method_not_allowed(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        seen = refused_http(await call(gw, "DELETE", "/v1/approvals", headers=OPERATOR), gw)
        assert seen.headers["Allow"] == seen.metadata["allowed"]
        assert "GET" in seen.metadata["allowed"]
        return seen


async def body_timeout(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path, http={"body_timeout_s": 0.2}) as (gw, _):
        port = gw.gateway.http_port
        token = await csrf_token(gw, headers=OPERATOR)
        headers = {**OPERATOR, "X-CSRF-Token": token}
        request = raw_request("POST", await approve_path(gw), port, headers, b'{"note": "x"}')
        # The body announced is longer than the body sent.
        request = request.replace(b"Content-Length: 13", b"Content-Length: 100")
        return refused_http(await answer_on_own_connection(port, request), gw)


async def too_many_connections(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path, http={"max_connections": 1}) as (gw, _):
        port = gw.gateway.http_port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            # Served, then kept open: the one connection allowed.
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            status_line = await asyncio.wait_for(reader.readline(), WAIT_S)
            assert status_line.startswith(b"HTTP/1.1 200"), status_line
            seen = refused_http(await answer_on_own_connection(port, b""), gw)
        finally:
            writer.close()
        return seen


async def answer_on_own_connection(port: int, request: bytes) -> Answer:
    """Sends ``request`` on a new connection; the answer, read until the gateway closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), WAIT_S)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return Answer(int(status_line.split(" ")[1]), json.loads(body), headers)


SCENARIOS: dict[str, Scenario] = {
    "CSRF_TOKEN_INVALID": csrf_token_invalid,
    "HOST_NOT_ALLOWED": host_not_allowed,
    "ORIGIN_NOT_ALLOWED": origin_not_allowed,
    "SESSION_INVALID": session_invalid,
    "LOGIN_TOKEN_INVALID": login_token_invalid,
    "ROUTE_NOT_FOUND": route_not_found,
    "METHOD_NOT_ALLOWED": method_not_allowed,
    "BODY_TIMEOUT": body_timeout,
    "TOO_MANY_CONNECTIONS": too_many_connections,
}
