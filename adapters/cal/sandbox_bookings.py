"""One tenant's bookings in the Cal.com sandbox, as Cal.com API v2 (2024-08-13) keeps them.

What a request may carry is checked as Cal.com's validation does (an unknown property is
refused, naming it); a booking must fit the host's schedule (``sandbox_schedule.py``). A
booking is kept as Cal.com answers it, its ``metadata`` included, so that a booking whose
answer was lost is found again by the marker the connector puts there. Cancelling keeps the
booking as ``cancelled``; rescheduling cancels it and makes a new one (a new ``uid``,
``rescheduledFromUid`` naming the old one) with the same attendee, guests and metadata.
"""

from __future__ import annotations

import datetime
import http
import secrets
import string
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .sandbox_schedule import DEFAULT_LENGTH, LENGTHS, Busy, free_slots, is_free

UTC = datetime.UTC
HOST: dict[str, Any] = {
    "id": 1,
    "name": "Sandbox Host",
    "email": "host@cal-sandbox.invalid",
    "username": "sandbox-host",
    "timeZone": "UTC",
}
MAX_PAGE = 100  # Cal.com's largest page of bookings
MAX_SLOT_RANGE = datetime.timedelta(days=62)  # the connector asks for 31 days at most
_UID_ALPHABET = string.ascii_letters + string.digits
_EXCEPTIONS = {
    400: "BadRequestException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    409: "ConflictException",
    422: "UnprocessableEntityException",
    429: "ThrottlerException",
    500: "InternalServerErrorException",
    502: "BadGatewayException",
    503: "ServiceUnavailableException",
    504: "GatewayTimeoutException",
}


def cal_time(moment: datetime.datetime) -> str:
    """An instant as Cal.com writes it in UTC: ``2025-09-05T09:00:00.000Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def error_envelope(status: int, message: str) -> dict[str, Any]:
    """Cal.com's error answer: ``{"status": "error", "timestamp", "error": {code, message,
    details}}``, the code the name of the exception Cal.com's server raised."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {
        "status": "error",
        "timestamp": cal_time(datetime.datetime.now(UTC)),
        "error": {
            "code": _EXCEPTIONS.get(status, "HttpException"),
            "message": message,
            "details": {"message": message, "error": phrase, "statusCode": status},
        },
    }


class CalFailure(Exception):
    """A refusal in Cal.com's error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _instant(value: str, name: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise CalFailure(400, f"{name} must be a valid ISO 8601 date string") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _bound(value: str, name: str, *, end_of_day: bool) -> datetime.datetime:
    """A day (its start or end, UTC) or an instant."""
    if "T" in value:
        return _instant(value, name)
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise CalFailure(400, f"{name} must be a date or an ISO 8601 date string") from None
    moment = datetime.time.max if end_of_day else datetime.time.min
    return datetime.datetime.combine(day, moment, tzinfo=UTC)


def _zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    if name is None:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CalFailure(400, f"timeZone {name!r} is not a valid IANA time zone") from None


# --- what requests carry --------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # query values are text


class AttendeeInput(_Body):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
    timeZone: str
    phoneNumber: str | None = None
    language: str | None = None


class BookingInput(_Body):
    start: str
    eventTypeId: Annotated[int, Field(ge=1)]
    attendee: AttendeeInput
    lengthInMinutes: int | None = None
    guests: Annotated[list[str], Field(max_length=30)] = []
    bookingFieldsResponses: dict[str, Any] = {}
    metadata: Annotated[
        dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=500)]],
        Field(max_length=50),
    ] = {}


class CancelInput(_Body):
    cancellationReason: str | None = None


class RescheduleInput(_Body):
    start: str
    reschedulingReason: str | None = None
    rescheduledBy: str | None = None


class SlotsQuery(_Query):
    eventTypeId: Annotated[int, Field(ge=1)]
    start: str
    end: str
    format: Literal["range", "time"] | None = None
    duration: int | None = None
    timeZone: str | None = None


class BookingsQuery(_Query):
    attendeeEmail: str | None = None
    attendeeName: str | None = None
    bookingUid: str | None = None
    eventTypeId: int | None = None
    eventTypeIds: str | None = None
    afterStart: str | None = None
    beforeEnd: str | None = None
    sortStart: Literal["asc", "desc"] | None = None
    status: str | None = None
    take: Annotated[int, Field(ge=1, le=MAX_PAGE)] = MAX_PAGE
    skip: Annotated[int, Field(ge=0)] = 0


M = TypeVar("M", bound=BaseModel)


def read(model: type[M], given: Any) -> M:
    """``given`` (a JSON body, or a query's values) as ``model``, or Cal.com's 400 naming
    each property at fault."""
    if not isinstance(given, Mapping):
        raise CalFailure(400, "the body must be a JSON object")
    try:
        return model.model_validate(dict(given))
    except ValidationError as error:
        raise CalFailure(400, "; ".join(_said(problem) for problem in error.errors())) from None


def _said(problem: Any) -> str:
    name = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "extra_forbidden":
        return f"property {name} should not exist"
    if problem["type"] == "missing":
        return f"{name} should not be empty"
    return f"{name}: {problem['msg']}"


# --- the tenant's bookings ------------------------------------------------------------------

Record = Callable[[dict[str, Any]], None]


class CalBook:
    """A tenant's bookings by uid (``bookings``) at the moment ``now``, what acting on them
    records, and the sandbox's sequence of booking ids (``numbers``)."""

    def __init__(
        self,
        bookings: dict[str, dict[str, Any]],
        record: Record,
        now: datetime.datetime,
        numbers: Iterator[int],
    ) -> None:
        self._bookings = bookings
        self._record = record
        self._now = now
        self._numbers = numbers

    def _busy(self, leaving_out: str = "") -> list[Busy]:
        return [
            (_instant(b["start"], "start"), _instant(b["end"], "end"))
            for b in self._bookings.values()
            if b["status"] == "accepted" and b["uid"] != leaving_out
        ]

    def _fits(self, start: datetime.datetime, minutes: int, leaving_out: str = "") -> None:
        if start < self._now:
            raise CalFailure(400, "Attempting to book a meeting in the past.")
        if not is_free(start, minutes, self._busy(leaving_out), self._now):
            raise CalFailure(
                400, "User either already has booking at this time or is not available"
            )

    def booking(self, uid: str) -> dict[str, Any]:
        found = self._bookings.get(uid)
        if found is None:
            raise CalFailure(404, f"Booking with uid={uid} was not found in the database")
        return found

    def slots(self, query: SlotsQuery) -> dict[str, list[dict[str, str]]]:
        """Free slots by day (in ``timeZone``, UTC by default)."""
        minutes = _length(query.duration, "duration")
        since = _bound(query.start, "start", end_of_day=False)
        until = _bound(query.end, "end", end_of_day=True)
        if until < since:
            raise CalFailure(400, "end must be after start")
        if until - since > MAX_SLOT_RANGE:
            raise CalFailure(400, "the sandbox finds slots over at most 62 days at a time")
        zone = _zone(query.timeZone)
        by_day: dict[str, list[dict[str, str]]] = {}
        for start, end in free_slots(since, until, minutes, self._busy(), self._now):
            local_start = _local(start, zone)
            slot = {"start": local_start}
            if query.format == "range":
                slot["end"] = _local(end, zone)
            by_day.setdefault(local_start[:10], []).append(slot)
        return by_day

    def create(self, given: BookingInput) -> dict[str, Any]:
        start = _instant(given.start, "start")
        minutes = _length(given.lengthInMinutes, "lengthInMinutes")
        _zone(given.attendee.timeZone)
        self._fits(start, minutes)
        attendee = given.attendee.model_dump(exclude_none=True)
        attendee.setdefault("language", "en")
        responses = {"name": attendee["name"], "email": attendee["email"]}
        if given.guests:
            responses["guests"] = list(given.guests)
        booking = self._new(
            event_type=given.eventTypeId,
            start=start,
            minutes=minutes,
            attendees=[attendee],
            guests=list(given.guests),
            responses={**given.bookingFieldsResponses, **responses},
            metadata=dict(given.metadata),
        )
        self._record(_summary("BOOKING_CREATED", booking))
        return booking

    def cancel(self, uid: str, given: CancelInput) -> dict[str, Any]:
        booking = self.booking(uid)
        if booking["status"] == "cancelled":
            raise CalFailure(400, "This booking has already been cancelled.")
        booking.update(status="cancelled", updatedAt=cal_time(self._now))
        if given.cancellationReason is not None:
            booking["cancellationReason"] = given.cancellationReason
        self._record(_summary("BOOKING_CANCELLED", booking, "cancellationReason"))
        return booking

    def reschedule(self, uid: str, given: RescheduleInput) -> dict[str, Any]:
        old = self.booking(uid)
        if old["status"] == "cancelled":
            raise CalFailure(400, "Can't reschedule a booking that has been cancelled.")
        start = _instant(given.start, "start")
        self._fits(start, old["duration"], leaving_out=uid)
        old.update(status="cancelled", updatedAt=cal_time(self._now))
        if given.reschedulingReason is not None:
            old["reschedulingReason"] = given.reschedulingReason
        new = self._new(
            event_type=old["eventTypeId"],
            start=start,
            minutes=old["duration"],
            attendees=old["attendees"],
            guests=old.get("guests", []),
            responses=old["bookingFieldsResponses"],
            metadata=old["metadata"],
        )
        new["rescheduledFromUid"] = uid
        if given.reschedulingReason is not None:
            new["reschedulingReason"] = given.reschedulingReason
        if given.rescheduledBy is not None:
            new["rescheduledByEmail"] = given.rescheduledBy
        self._record(_summary("BOOKING_RESCHEDULED", new, "rescheduledFromUid"))
        return new

    def listed(self, query: BookingsQuery) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One page of the bookings ``query`` selects, and Cal.com's pagination of it."""
        found = [b for b in self._bookings.values() if self._selects(query, b)]
        found.sort(key=lambda b: b["start"], reverse=query.sortStart == "desc")
        page = found[query.skip : query.skip + query.take]
        remaining = max(len(found) - query.skip - len(page), 0)
        return page, {
            "totalItems": len(found),
            "remainingItems": remaining,
            "returnedItems": len(page),
            "itemsPerPage": query.take,
            "currentPage": query.skip // query.take + 1,
            "totalPages": -(-len(found) // query.take),
            "hasNextPage": remaining > 0,
            "hasPreviousPage": query.skip > 0,
        }

    def _selects(self, query: BookingsQuery, booking: dict[str, Any]) -> bool:
        attendees = booking["attendees"]
        event_types = _numbers_in(query.eventTypeIds, "eventTypeIds")
        if query.eventTypeId is not None:
            event_types.add(query.eventTypeId)
        checks = (
            query.attendeeEmail is None
            or any(a["email"].lower() == query.attendeeEmail.lower() for a in attendees),
            query.attendeeName is None or any(a["name"] == query.attendeeName for a in attendees),
            query.bookingUid is None or booking["uid"] == query.bookingUid,
            not event_types or booking["eventTypeId"] in event_types,
            query.afterStart is None
            or _instant(booking["start"], "start") >= _instant(query.afterStart, "afterStart"),
            query.beforeEnd is None
            or _instant(booking["end"], "end") <= _instant(query.beforeEnd, "beforeEnd"),
            query.status is None or self._status_of(booking) in _statuses(query.status),
        )
        return all(checks)

    def _status_of(self, booking: dict[str, Any]) -> str:
        if booking["status"] == "cancelled":
            return "cancelled"
        return "past" if _instant(booking["end"], "end") < self._now else "upcoming"

    def _new(
        self,
        *,
        event_type: int,
        start: datetime.datetime,
        minutes: int,
        attendees: list[dict[str, Any]],
        guests: list[str],
        responses: dict[str, Any],
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        uid = "".join(secrets.choice(_UID_ALPHABET) for _ in range(22))
        booking: dict[str, Any] = {
            "id": next(self._numbers),
            "uid": uid,
            "title": f"{minutes} min meeting between {HOST['name']} and {attendees[0]['name']}",
            "description": "",
            "hosts": [dict(HOST)],
            "status": "accepted",
            "start": cal_time(start),
            "end": cal_time(start + datetime.timedelta(minutes=minutes)),
            "duration": minutes,
            "eventTypeId": event_type,
            "eventType": {"id": event_type, "slug": f"event-type-{event_type}"},
            "location": f"https://video.cal-sandbox.invalid/{uid}",
            "absentHost": False,
            "createdAt": cal_time(self._now),
            "updatedAt": cal_time(self._now),
            "attendees": [dict(a) for a in attendees],
            "bookingFieldsResponses": dict(responses),
            "metadata": dict(metadata),
        }
        if guests:
            booking["guests"] = list(guests)
        self._bookings[uid] = booking
        return booking


def _length(minutes: int | None, name: str) -> int:
    if minutes is None:
        return DEFAULT_LENGTH
    if minutes not in LENGTHS:
        lengths = ", ".join(str(length) for length in LENGTHS)
        raise CalFailure(400, f"{name} must be one of the event type's lengths: {lengths}")
    return minutes


def _local(moment: datetime.datetime, zone: zoneinfo.ZoneInfo | None) -> str:
    if zone is None:
        return cal_time(moment)
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def _numbers_in(text: str | None, name: str) -> set[int]:
    if not text:
        return set()
    try:
        return {int(part) for part in text.split(",")}
    except ValueError:
        raise CalFailure(400, f"{name} must be numbers separated by commas") from None


_STATUSES = frozenset({"upcoming", "recurring", "past", "cancelled", "unconfirmed"})


def _statuses(text: str) -> set[str]:
    asked = {part.strip() for part in text.split(",")}
    unknown = asked - _STATUSES
    if unknown:
        raise CalFailure(400, f"status must be some of {', '.join(sorted(_STATUSES))}")
    return asked


def _summary(event: str, booking: dict[str, Any], *more: str) -> dict[str, Any]:
    summary = {
        "event": event,
        "uid": booking["uid"],
        "eventTypeId": booking["eventTypeId"],
        "start": booking["start"],
        "end": booking["end"],
        "attendee": booking["attendees"][0]["email"],
    }
    if booking.get("guests"):
        summary["guests"] = list(booking["guests"])
    summary.update({name: booking[name] for name in more if booking.get(name) is not None})
    return summary
