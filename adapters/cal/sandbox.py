"""The Cal.com sandbox: Cal.com API v2 on loopback, one account per tenant.

Each tenant's account holds an API key of its own (drawn at start) and its own bookings
(``sandbox_bookings.py``) with one host and its schedule (``sandbox_schedule.py``). The routes
are the ones the connector calls:

* ``GET /v2/me`` (the probe): the key's user, the sandbox's host;
* ``GET /v2/slots``: the host's free slots for an event type, by day;
* ``POST /v2/bookings``, ``GET /v2/bookings`` (filtered by attendee, event type, start, end,
  status and uid, sorted by start, in pages), ``GET /v2/bookings/{uid}``, ``POST
  /v2/bookings/{uid}/cancel`` and ``POST /v2/bookings/{uid}/reschedule``.

As at Cal.com, each endpoint family takes its own ``cal-api-version`` header (bookings
``2024-08-13``, slots ``2024-09-04``): one without it, or with another version, is refused
(400) before anything is acted on, as this sandbox speaks those versions only. Answers are
``{"status": "success", "data": ...}``; refusals are Cal.com's error envelope.
"""

from __future__ import annotations

import datetime
import itertools
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Literal

from aiohttp import web
from pydantic import SecretStr

from adapters.http.sandbox import Handler, HttpSandbox
from gateway.sandbox import SandboxFault

from .account import CalAccount
from .sandbox_bookings import (
    HOST,
    BookingInput,
    BookingsQuery,
    CalBook,
    CalFailure,
    CancelInput,
    RescheduleInput,
    SlotsQuery,
    error_envelope,
    read,
)

BOOKINGS_VERSION: str = CalAccount.model_fields["bookings_api_version"].default
SLOTS_VERSION: str = CalAccount.model_fields["slots_api_version"].default

Answer = tuple[int, dict[str, Any]]
# An endpoint: the tenant's bookings, the path's values and what the request carries.
Act = Callable[[CalBook, Mapping[str, str], Any], Answer]
Carries = Literal["body", "query", "nothing"]


def _success(data: Any, status: int = 200, **more: Any) -> Answer:
    return status, {"status": "success", "data": data, **more}


def _me(book: CalBook, ids: Mapping[str, str], given: Any) -> Answer:
    user = {
        "id": HOST["id"],
        "username": HOST["username"],
        "email": HOST["email"],
        "name": HOST["name"],
        "timeZone": HOST["timeZone"],
        "weekStart": "Monday",
        "timeFormat": 24,
        "defaultScheduleId": 1,
        "organizationId": None,
    }
    return _success(user)


def _slots(book: CalBook, ids: Mapping[str, str], given: Any) -> Answer:
    return _success(book.slots(read(SlotsQuery, given)))


def _create(book: CalBook, ids: Mapping[str, str], given: Any) -> Answer:
    return _success(book.create(read(BookingInput, given)), 201)


def _list(book: CalBook, ids: Mapping[str, str], given: Any) -> Answer:
    page, pagination = book.listed(read(BookingsQuery, given))
    return _success(page, pagination=pagination)


def _get(book: CalBook, ids: Mapping[str, str], given: Any) -> Answer:
    return _success(book.booking(ids["uid"]))


def _cancel(book: CalBook, ids: Mapping[str, str], given: Any) -> Answer:
    return _success(book.cancel(ids["uid"], read(CancelInput, given)))


def _reschedule(book: CalBook, ids: Mapping[str, str], given: Any) -> Answer:
    return _success(book.reschedule(ids["uid"], read(RescheduleInput, given)), 201)


# (method, path, cal-api-version, what the request carries, endpoint)
ROUTES: tuple[tuple[str, str, str | None, Carries, Act], ...] = (
    ("GET", "/v2/me", None, "nothing", _me),
    ("GET", "/v2/slots", SLOTS_VERSION, "query", _slots),
    ("POST", "/v2/bookings", BOOKINGS_VERSION, "body", _create),
    ("GET", "/v2/bookings", BOOKINGS_VERSION, "query", _list),
    ("GET", "/v2/bookings/{uid}", BOOKINGS_VERSION, "nothing", _get),
    ("POST", "/v2/bookings/{uid}/cancel", BOOKINGS_VERSION, "body", _cancel),
    ("POST", "/v2/bookings/{uid}/reschedule", BOOKINGS_VERSION, "body", _reschedule),
)


class CalSandbox(HttpSandbox[CalAccount]):
    key = "cal"

    def __init__(self, fault: SandboxFault | None = None) -> None:
        super().__init__(fault)
        self._booking_ids = itertools.count(1)  # one sequence for every tenant, as Cal.com's

    def add_routes(self, app: web.Application) -> None:
        for method, path, version, carries, act in ROUTES:
            app.router.add_route(method, path, self._endpoint(version, carries, act))

    def account(self, tenant: str, base_url: str, credential: str) -> CalAccount:
        return CalAccount(base_url=base_url, api_key=SecretStr(credential))

    def new_credential(self, tenant: str) -> str:
        return f"cal_test_{secrets.token_hex(20)}"

    def error_body(self, status: int, code: str, message: str) -> Any:
        return error_envelope(status, message)

    def _book(self, tenant: str) -> CalBook:
        return CalBook(
            self.objects(tenant, "booking"),
            lambda entry: self.record(tenant, entry),
            datetime.datetime.now(datetime.UTC),
            self._booking_ids,
        )

    def _endpoint(self, version: str | None, carries: Carries, act: Act) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            try:
                if version is not None:
                    _check_version(request, version)
                given = await _carried(request, carries)
                status, body = act(self._book(self.tenant_of(request)), request.match_info, given)
            except CalFailure as failure:
                refusal = error_envelope(failure.status, failure.message)
                refusal["path"] = request.path
                return web.json_response(refusal, status=failure.status)
            return web.json_response(body, status=status)

        return handle


def _check_version(request: web.Request, version: str) -> None:
    given = request.headers.get("cal-api-version")
    if given != version:
        family = request.path.split("/")[2]
        said = f"{given!r}" if given is not None else "none"
        raise CalFailure(
            400, f"the {family} endpoints take cal-api-version {version} (given: {said})"
        )


async def _carried(request: web.Request, carries: Carries) -> Any:
    if carries == "query":
        query = request.query
        return {name: ",".join(query.getall(name)) for name in query}
    if carries == "body":
        try:
            return await request.json()
        except ValueError:
            raise CalFailure(400, "the body must be JSON") from None
    return None
