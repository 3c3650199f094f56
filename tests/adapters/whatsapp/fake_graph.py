"""A small Graph API on 127.0.0.1 for what Prism cannot show: the phone number resource the
health probe reads, a 404, and error codes the published description has no example of
(131047, throttling). It checks the bearer token and answers Graph's error body
``{"error": {message, type, code, error_subcode, fbtrace_id}}``. Put a ``VendorRecorder`` in
front of it to see what the adapter sent.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAGraphSystemUserToken0123456789"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"

_MESSAGES = re.compile(r"^/(v[0-9]+\.[0-9]+)/([0-9]+)/messages$")
_NUMBER = re.compile(r"^/(v[0-9]+\.[0-9]+)/([0-9]+)$")


def graph_error(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@dataclass
class FakeGraph:
    phone_number_id: str = PHONE_NUMBER_ID
    access_token: str = ACCESS_TOKEN
    errors: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    sent: int = 0  # messages accepted
    url: str = ""

    def fail_next(self, status: int, body: dict[str, Any], times: int = 1) -> None:
        """The next ``times`` requests are answered ``status`` with ``body``."""
        self.errors.extend([(status, body)] * times)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        await request.read()
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return web.json_response(
                graph_error(190, "Invalid OAuth access token - Cannot parse access token"),
                status=401,
            )
        if self.errors:
            status, body = self.errors.popleft()
            return web.json_response(body, status=status)
        messages, number = _MESSAGES.match(request.path), _NUMBER.match(request.path)
        if request.method == "POST" and messages and messages.group(2) == self.phone_number_id:
            self.sent += 1
            return web.json_response(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": "+966501234567", "wa_id": "966501234567"}],
                    "messages": [{"id": WAMID, "message_status": "accepted"}],
                }
            )
        if request.method == "GET" and number and number.group(2) == self.phone_number_id:
            return web.json_response(
                {
                    "verified_name": "Example Shop",
                    "display_phone_number": "+1 555-010-0000",
                    "quality_rating": "GREEN",
                    "id": self.phone_number_id,
                }
            )
        return web.json_response(
            graph_error(100, "Unsupported request - method type: get", subcode=33), status=404
        )


@contextlib.asynccontextmanager
async def fake_graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    runner = web.ServerRunner(web.Server(fake.handle, access_log=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield fake
    finally:
        await runner.cleanup()
