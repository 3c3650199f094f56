"""The calls the voice sandbox keeps: Twilio's call resource, and how a call's status moves.

A call moves only when something happens to it, so that every case can be tried by hand and
each run turns out the same. Twilio answers a new call ``queued``; what the callee does next
happens at once and depends on the number called (``CALLEES``); every other number leaves the
call ``queued`` until it is ended. An update follows Twilio's rules: ``canceled`` ends a
queued or ringing call and leaves one in progress up, ``completed`` ends any call still
going, and a call that has ended takes no update (Twilio's 21220).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"

# What the callee does once the call is placed, by the number called.
ANSWERS = "+15550100001"  # picks up: the call is in progress (the undo hangs it up)
BUSY = "+15550100002"  # the line is busy: the call has ended (the undo has nothing to stop)
CALLEES = {ANSWERS: "in-progress", BUSY: "busy"}

UPDATES = {
    "canceled": {"queued": "canceled", "ringing": "canceled", "in-progress": "in-progress"},
    "completed": {"queued": "completed", "ringing": "completed", "in-progress": "completed"},
}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _rfc2822(moment: datetime) -> str:
    """Twilio's dates: ``Tue, 31 Aug 2010 20:36:28 +0000``."""
    return format_datetime(moment)


def _parsed(rfc2822: str) -> datetime:
    return datetime.strptime(rfc2822, "%a, %d %b %Y %H:%M:%S %z")


def new_call(sid: str, account_sid: str, to: str, from_: str) -> dict[str, Any]:
    """A call Twilio has just queued, as its resource reads."""
    created = _rfc2822(_now())
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}"
    return {
        "sid": sid,
        "account_sid": account_sid,
        "parent_call_sid": None,
        "to": to,
        "to_formatted": to,
        "from": from_,
        "from_formatted": from_,
        "status": "queued",
        "direction": "outbound-api",
        "date_created": created,
        "date_updated": created,
        "start_time": None,
        "end_time": None,
        "duration": None,
        "price": None,
        "price_unit": "USD",
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "queue_time": "0",
        "uri": f"{uri}.json",
        "subresource_uris": {
            "recordings": f"{uri}/Recordings.json",
            "notifications": f"{uri}/Notifications.json",
        },
    }


def move(call: dict[str, Any], status: str) -> None:
    """Sets the call's status and the times that go with it."""
    if status == call["status"]:
        return
    now = _now()
    stamp = _rfc2822(now)
    if status == "in-progress":
        call["start_time"] = stamp
    if status == "completed":  # Twilio gives the others (busy, canceled...) neither
        call["end_time"] = stamp
        started = call["start_time"]
        seconds = (now - _parsed(started)).total_seconds() if started is not None else 0
        call["duration"] = str(int(seconds))
    call["status"] = status
    call["date_updated"] = stamp


def after_placing(call: dict[str, Any]) -> None:
    """What the callee does at once."""
    move(call, CALLEES.get(str(call["to"]), "queued"))


def updated_status(current: str, wanted: str) -> str | None:
    """The status ``Status=wanted`` leaves a ``current`` call in; None if it takes no update."""
    return UPDATES.get(wanted, {}).get(current)
