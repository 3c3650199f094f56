"""A small stateful Twilio on 127.0.0.1: accounts and calls, for what Prism cannot show.

Prism answers from Twilio's static examples, where every call is "completed", and does not
serve the account resource the health probe reads. ``fake_twilio()`` keeps calls with a
status a test sets, answers the probe's account read, checks HTTP Basic auth, and answers
Twilio's error bodies ``{code, message, more_info, status}``. With ``upstream`` it answers only
reads of calls and of the account itself and forwards everything else (the undo's update) to
Prism. Put a ``VendorRecorder`` in front of it to see what the adapter sent.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-9f8e7d6c5b4a"
CALL_SID = "CA" + "a1b2c3d4e5f6a7b8" * 2

_CALLS = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Calls\.json$")
_CALL = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Calls/(CA[0-9a-fA-F]{32})\.json$")
_ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})\.json$")


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    auth_user: str = ""  # an API key's SID, when it signs in instead of the account
    upstream: str | None = None
    account_status: str = "active"
    calls: dict[str, str] = field(default_factory=dict)  # call SID -> status
    # Calls answered between the undo's read and its cancel: a cancel leaves them in progress.
    answered_before_cancel: set[str] = field(default_factory=set)
    errors: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    url: str = ""
    _created: int = 0
    _client: aiohttp.ClientSession | None = None

    def fail_next(self, status: int, body: dict[str, Any]) -> None:
        """The next request is answered ``status`` with ``body``, whatever it asked."""
        self.errors.append((status, body))

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        user = self.auth_user or self.account_sid
        if request.headers.get("Authorization") != aiohttp.encode_basic_auth(user, self.auth_token):
            return web.json_response(twilio_error(401, 20003, "Authenticate"), status=401)
        if self.errors:
            status, error = self.errors.popleft()
            return web.json_response(error, status=status)
        form = dict(parse_qsl(body.decode()))
        if request.method == "GET" and _ACCOUNT.match(request.path):
            return web.json_response(
                {"sid": self.account_sid, "status": self.account_status, "type": "Full"}
            )
        call = _CALL.match(request.path)
        if request.method == "GET" and call:
            return self._call(call.group(2))
        if self.upstream is not None:
            return await self._forward(request, body)
        if request.method == "POST" and _CALLS.match(request.path):
            self._created += 1
            sid = f"CA{self._created:032x}"
            self.calls[sid] = "queued"
            return self._call(sid, status=201, to=form.get("To"), from_=form.get("From"))
        if request.method == "POST" and call:
            return self._update(call.group(2), form.get("Status", ""))
        return web.json_response(twilio_error(404, 20404, "Not found"), status=404)

    def _update(self, sid: str, wanted: str) -> web.Response:
        if sid not in self.calls:
            return self._call(sid)
        current = self.calls[sid]
        if sid in self.answered_before_cancel:
            current = self.calls[sid] = "in-progress"
            self.answered_before_cancel.discard(sid)
        if wanted == "canceled" and current in ("queued", "ringing"):
            self.calls[sid] = "canceled"
        elif wanted == "completed" and current in ("queued", "ringing", "in-progress"):
            self.calls[sid] = "completed"
        return self._call(sid)

    def _call(
        self, sid: str, *, status: int = 200, to: str | None = None, from_: str | None = None
    ) -> web.Response:
        if sid not in self.calls:
            error = twilio_error(404, 20404, f"The requested resource {sid} was not found")
            return web.json_response(error, status=404)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "status": self.calls[sid],
                "direction": "outbound-api",
                "to": to or "+14155550123",
                "from": from_ or "+14155550100",
                "date_created": "Tue, 31 Aug 2010 20:36:28 +0000",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
            },
            status=status,
        )

    async def _forward(self, request: web.BaseRequest, body: bytes) -> web.Response:
        assert self._client is not None
        assert self.upstream is not None
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "transfer-encoding", "connection")
        }
        target = self.upstream.rstrip("/") + request.rel_url.raw_path_qs
        async with self._client.request(
            request.method, target, data=body or None, headers=headers
        ) as answer:
            payload = await answer.read()
            return web.Response(status=answer.status, body=payload, content_type="application/json")


@contextlib.asynccontextmanager
async def fake_twilio(upstream: str | None = None) -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(upstream=upstream)
    fake._client = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    runner = web.ServerRunner(web.Server(fake.handle, access_log=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield fake
    finally:
        await runner.cleanup()
        await fake._client.close()
