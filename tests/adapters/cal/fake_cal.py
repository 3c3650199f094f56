"""A small Cal.com on loopback that keeps its bookings.

It answers the endpoints the connector uses as Cal.com API v2 does: ``GET /v2/me``,
``POST /v2/bookings``, ``GET /v2/bookings`` (filtered by attendee email, event type and
``afterStart``, oldest first, in pages), ``GET /v2/bookings/{uid}`` and
``POST /v2/bookings/{uid}/cancel|reschedule``; a wrong key is 401, a wrong
``cal-api-version`` 400, an unknown uid 404, each with Cal.com's error body. Put a
``VendorRecorder`` in front of it to see the requests or to drop an answer.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

BOOKINGS_VERSION = "2024-08-13"
API_KEY = "cal_live_fake0123456789abcdef"


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "status": "error",
        "timestamp": "2025-01-01T00:00:00.000Z",
        "path": "/v2",
        "error": {"code": code, "message": message, "details": {"statusCode": status}},
    }


def _refusal(status: int, code: str, message: str) -> web.Response:
    return web.json_response(error_body(status, code, message), status=status)


def _instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


class FakeCal:
    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.bookings: dict[str, dict[str, Any]] = {}  # by uid, in the order they were made
        self.me_status = 200  # what GET /v2/me answers
        self.list_status = 200  # what GET /v2/bookings answers
        # Statuses the next bookings are answered with, without booking (a proxy's failure).
        self.failing_creates: list[int] = []
        self.url = ""
        self._ids = itertools.count(1)

    def add(
        self,
        *,
        event_type_id: int,
        start: str,
        email: str,
        metadata: dict[str, Any] | None = None,
        minutes: int = 30,
        status: str = "accepted",
    ) -> dict[str, Any]:
        """Keeps a booking as Cal.com would answer it."""
        number = next(self._ids)
        uid = f"fakeBooking{number:06d}"
        begins = _instant(start)
        booking = {
            "id": number,
            "uid": uid,
            "title": "Consultation",
            "status": status,
            "start": begins.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "end": (begins + datetime.timedelta(minutes=minutes)).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"
            ),
            "duration": minutes,
            "eventTypeId": event_type_id,
            "eventType": {"id": event_type_id, "slug": "consultation"},
            "attendees": [{"name": "Guest", "email": email, "timeZone": "UTC"}],
            "metadata": metadata or {},
            "location": "integrations:daily",
        }
        self.bookings[uid] = booking
        return booking

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/v2/me", self._me)
        app.router.add_post("/v2/bookings", self._create)
        app.router.add_get("/v2/bookings", self._list)
        app.router.add_get("/v2/bookings/{uid}", self._get)
        app.router.add_post("/v2/bookings/{uid}/cancel", self._cancel)
        app.router.add_post("/v2/bookings/{uid}/reschedule", self._reschedule)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _refusal(401, "UnauthorizedException", "Invalid API key")
        version = request.headers.get("cal-api-version")
        if request.path.startswith("/v2/bookings") and version != BOOKINGS_VERSION:
            return _refusal(400, "BadRequestException", "Unsupported cal-api-version")
        response: web.StreamResponse = await handler(request)
        return response

    async def _me(self, request: web.Request) -> web.Response:
        if self.me_status != 200:
            return _refusal(self.me_status, "InternalServerErrorException", "Try later")
        user = {"id": 7, "username": "owner", "email": "owner@example.com"}
        return web.json_response({"status": "success", "data": user})

    async def _create(self, request: web.Request) -> web.Response:
        if self.failing_creates:
            status = self.failing_creates.pop(0)
            return _refusal(status, "BadGatewayException", "The upstream failed")
        body = await request.json()
        attendee = body["attendee"]
        booking = self.add(
            event_type_id=body["eventTypeId"],
            start=body["start"],
            email=attendee["email"],
            metadata=body.get("metadata"),
            minutes=body.get("lengthInMinutes", 30),
        )
        booking["attendees"] = [attendee]
        return web.json_response({"status": "success", "data": booking}, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        if self.list_status != 200:
            return _refusal(self.list_status, "InternalServerErrorException", "Try later")
        query = request.query
        found = list(self.bookings.values())
        if "attendeeEmail" in query:
            email = query["attendeeEmail"]
            found = [b for b in found if any(a["email"] == email for a in b["attendees"])]
        if "eventTypeId" in query:
            found = [b for b in found if str(b["eventTypeId"]) == query["eventTypeId"]]
        if "afterStart" in query:
            after = _instant(query["afterStart"])
            found = [b for b in found if _instant(b["start"]) >= after]
        found.sort(key=lambda b: _instant(b["start"]))
        take, skip = int(query.get("take", "100")), int(query.get("skip", "0"))
        page = found[skip : skip + take]
        remaining = max(len(found) - skip - len(page), 0)
        pagination = {
            "totalItems": len(found),
            "remainingItems": remaining,
            "returnedItems": len(page),
            "itemsPerPage": take,
            "currentPage": skip // take + 1,
            "totalPages": -(-len(found) // take),
            "hasNextPage": remaining > 0,
            "hasPreviousPage": skip > 0,
        }
        return web.json_response({"status": "success", "data": page, "pagination": pagination})

    def _booking(self, request: web.Request) -> dict[str, Any] | None:
        return self.bookings.get(request.match_info["uid"])

    async def _get(self, request: web.Request) -> web.Response:
        booking = self._booking(request)
        if booking is None:
            return _refusal(404, "NotFoundException", "Booking not found")
        return web.json_response({"status": "success", "data": booking})

    async def _cancel(self, request: web.Request) -> web.Response:
        booking = self._booking(request)
        if booking is None:
            return _refusal(404, "NotFoundException", "Booking not found")
        if booking["status"] == "cancelled":
            return _refusal(400, "BadRequestException", "This booking has been cancelled")
        body = await request.json()
        booking["status"] = "cancelled"
        if "cancellationReason" in body:
            booking["cancellationReason"] = body["cancellationReason"]
        return web.json_response({"status": "success", "data": booking})

    async def _reschedule(self, request: web.Request) -> web.Response:
        old = self._booking(request)
        if old is None:
            return _refusal(404, "NotFoundException", "Booking not found")
        body = await request.json()
        old["status"] = "cancelled"
        new = self.add(
            event_type_id=old["eventTypeId"],
            start=body["start"],
            email=old["attendees"][0]["email"],
            metadata=old["metadata"],
            minutes=old["duration"],
        )
        new["rescheduledFromUid"] = old["uid"]
        return web.json_response({"status": "success", "data": new}, status=201)


@asynccontextmanager
async def fake_cal(api_key: str = API_KEY) -> AsyncIterator[FakeCal]:
    """Runs a ``FakeCal`` on 127.0.0.1 until the block exits."""
    cal = FakeCal(api_key)
    runner = web.AppRunner(cal.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    cal.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield cal
    finally:
        await runner.cleanup()
