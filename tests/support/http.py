"""Talking to a running gateway's HTTP side as clients do: aiohttp, browsers, raw sockets."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from gateway.auth.authenticator import DEV_CALLER_HEADER
from tests.support.gateway import RunningGateway

OPERATOR = {DEV_CALLER_HEADER: "local-operator"}
# What a browser adds to a request a page makes to the gateway (and a script never does).
BROWSER = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}


@dataclass
class Answer:
    status: int
    body: Any  # the JSON body, else the text
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        return str(self.body["error"]["reason"]) if isinstance(self.body, dict) else ""


def base_url(gw: RunningGateway, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{gw.gateway.http_port}"


async def answer_of(response: aiohttp.ClientResponse) -> Answer:
    text = await response.text()
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return Answer(response.status, body, dict(response.headers))


async def call(
    gw: RunningGateway,
    method: str,
    path: str,
    *,
    session: aiohttp.ClientSession | None = None,
    **kwargs: Any,
) -> Answer:
    """One request; without a session, in a fresh one (no cookies)."""
    if session is None:
        async with aiohttp.ClientSession() as fresh:
            return await call(gw, method, path, session=fresh, **kwargs)
    async with session.request(method, base_url(gw) + path, **kwargs) as response:
        return await answer_of(response)


async def csrf_token(gw: RunningGateway, **kwargs: Any) -> str:
    got = await call(gw, "GET", "/v1/csrf-token", **kwargs)
    assert got.status == 200, got
    return str(got.body["token"])


def audit_count(gw: RunningGateway) -> int:
    with sqlite3.connect(gw.gateway.settings.database_path) as conn:
        (count,) = conn.execute("SELECT count(*) FROM audit_events").fetchone()
    return int(count)


def login_file_url(data_dir: Path) -> str:
    return str(json.loads((data_dir / "http-login.json").read_text())["url"])


async def raw_exchange(port: int, data: bytes, *, timeout_s: float = 10) -> bytes:
    """Sends ``data`` on a new connection and reads until the gateway closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()


def raw_request(method: str, path: str, port: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


def status_and_body(response: bytes) -> tuple[int, Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body
