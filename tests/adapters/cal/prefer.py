"""A loopback proxy that asks Prism for a given answer: it adds ``Prefer: code=N`` to what it
forwards. It sits behind the recorder, so the recorded requests stay as the adapter sent
them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

_NOT_FORWARDED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


@dataclass
class Preferring:
    url: str = ""
    code: int | None = None  # the status Prism is asked for; None: its own choice


def _kept(headers: Mapping[str, str]) -> CIMultiDict[str]:
    kept: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in _NOT_FORWARDED:
            kept.add(name, value)
    return kept


@asynccontextmanager
async def preferring(upstream: str) -> AsyncIterator[Preferring]:
    proxy = Preferring()
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
    ) as client:

        async def forward(request: web.BaseRequest) -> web.StreamResponse:
            headers = _kept(request.headers)
            if proxy.code is not None:
                headers["Prefer"] = f"code={proxy.code}"
            target = upstream.rstrip("/") + request.rel_url.raw_path_qs
            body = await request.read()
            async with client.request(
                request.method, target, data=body or None, headers=headers, allow_redirects=False
            ) as answer:
                payload = await answer.read()
                return web.Response(
                    status=answer.status, body=payload, headers=_kept(answer.headers)
                )

        runner = web.ServerRunner(web.Server(forward, access_log=None))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            yield proxy
        finally:
            await runner.cleanup()
