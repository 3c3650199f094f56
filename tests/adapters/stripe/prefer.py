"""A loopback proxy that adds Prism's ``Prefer`` header to what it forwards.

Prism answers ``Prefer: code=N`` with the status N when the operation declares it (Stripe's
description declares ``default`` everywhere, so any N). The adapter never sends ``Prefer``;
a test sets ``proxy.prefer = "code=429"`` for the requests that follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import aiohttp
from aiohttp import web

_HOP_BY_HOP = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


@dataclass
class PreferProxy:
    upstream: str
    prefer: str | None = None
    url: str = ""
    _runner: web.BaseRunner | None = None
    _client: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PreferProxy:
        self._client = aiohttp.ClientSession(auto_decompress=False)
        self._runner = web.ServerRunner(web.Server(self._forward, access_log=None))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    async def _forward(self, request: web.BaseRequest) -> web.Response:
        assert self._client is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        if self.prefer is not None:
            headers["Prefer"] = self.prefer
        body = await request.read()
        async with self._client.request(
            request.method,
            self.upstream.rstrip("/") + request.rel_url.raw_path_qs,
            data=body or None,
            headers=headers,
            allow_redirects=False,
        ) as answer:
            payload = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=answer.status, body=payload, headers=kept)
