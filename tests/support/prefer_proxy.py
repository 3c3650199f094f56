"""A loopback proxy that asks Prism for a given answer on behalf of an adapter.

Prism answers a status its description declares when the request carries ``Prefer: code=N``;
an adapter never sends that header. ``PreferProxy(prism_url)`` sits between the
``VendorRecorder`` (which keeps the request exactly as the adapter sent it) and Prism, and
adds ``Prefer`` to every request it forwards while ``prefer`` is set:

    adapter -> VendorRecorder -> PreferProxy -> Prism
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.vendor_recorder import forwardable


@dataclass
class PreferProxy:
    upstream: str
    prefer: str | None = None  # e.g. "code=429"; None or empty: forward unchanged
    strip: str = ""  # a path prefix the upstream does not serve (Prism ignores a basePath)
    url: str = ""
    _runner: web.BaseRunner[Any] | None = None
    _client: aiohttp.ClientSession | None = None

    @property
    def code(self) -> int | None:
        """The status Prism is asked for; None: its own choice."""
        if self.prefer and self.prefer.startswith("code="):
            return int(self.prefer.removeprefix("code="))
        return None

    @code.setter
    def code(self, status: int | None) -> None:
        self.prefer = None if status is None else f"code={status}"

    async def __aenter__(self) -> PreferProxy:
        self._client = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )
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

    async def _forward(self, request: web.BaseRequest) -> web.StreamResponse:
        assert self._client is not None
        body = await request.read()
        headers = forwardable(request.headers)
        if self.prefer:
            headers["Prefer"] = self.prefer
        path = request.rel_url.raw_path_qs
        if self.strip and path.startswith(self.strip + "/"):
            path = path[len(self.strip) :]
        target = self.upstream.rstrip("/") + path
        async with self._client.request(
            request.method, target, data=body or None, headers=headers, allow_redirects=False
        ) as answer:
            payload = await answer.read()
            return web.Response(
                status=answer.status, body=payload, headers=forwardable(answer.headers)
            )
