"""A loopback proxy that records what an adapter sent its vendor.

``VendorRecorder(upstream)`` listens on 127.0.0.1 in the test's event loop, forwards every
request unchanged to ``upstream`` (Prism, or a test's own fake vendor) and keeps each request
as the vendor received it, so a test can check it against the vendor's published schema.
``drop_after_forwarding()`` makes the next answer never arrive: the request reaches the
vendor, which acts, then the adapter's connection is reset, as when a network fails after the
request was sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from adapters.http.sandbox import reset_connection

# Hop-by-hop headers and those aiohttp computes again for the forwarded message.
_NOT_FORWARDED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query
    query_string: str
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        """The form's fields in order (a key may repeat)."""
        return parse_qsl(self.body.decode(), keep_blank_values=True, strict_parsing=False)

    def form_dict(self) -> dict[str, str]:
        """The form's fields, for forms where no key repeats."""
        return dict(self.form())


@dataclass
class VendorRecorder:
    upstream: str
    requests: list[RecordedRequest] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # the vendor's answers, in order
    _drops: int = 0
    _runner: web.BaseRunner[Any] | None = None
    _client: aiohttp.ClientSession | None = None
    url: str = ""

    def drop_after_forwarding(self, times: int = 1) -> None:
        """The next ``times`` requests reach the vendor; their answers never come back."""
        self._drops += times

    def last(self) -> RecordedRequest:
        assert self.requests, "the vendor received no request"
        return self.requests[-1]

    def matching(self, method: str, path_part: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    async def __aenter__(self) -> VendorRecorder:
        self._client = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )
        server = web.Server(self._forward, access_log=None)
        self._runner = web.ServerRunner(server)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
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
        body = await request.read()
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query_string=request.query_string,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            body=body,
        )
        self.requests.append(recorded)
        assert self._client is not None
        headers = forwardable(request.headers)
        target = self.upstream.rstrip("/") + request.rel_url.raw_path_qs
        async with self._client.request(
            request.method, target, data=body or None, headers=headers, allow_redirects=False
        ) as answer:
            payload = await answer.read()
            self.statuses.append(answer.status)
            answer_headers = forwardable(answer.headers)
        if self._drops:
            self._drops -= 1
            reset_connection(request)
            return web.Response(status=500)  # never written: the connection is gone
        return web.Response(status=answer.status, body=payload, headers=answer_headers)


def forwardable(headers: Mapping[str, str]) -> CIMultiDict[str]:
    kept: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in _NOT_FORWARDED:
            kept.add(name, value)
    return kept
