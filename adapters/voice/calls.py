"""The Calls resource on the wire: the form Twilio takes, and the call it answers with."""

from __future__ import annotations

from typing import Any

from gateway.errors import VendorBadResponse

from .operations import CallPlaced, PlaceCall

# What a result keeps of Twilio's call resource (it also lists URIs and other accounts' ids).
CALL_FIELDS = (
    "sid",
    "status",
    "direction",
    "to",
    "from",
    "date_created",
    "start_time",
    "end_time",
    "duration",
    "answered_by",
    "price",
    "price_unit",
)


def place_call_form(payload: PlaceCall) -> list[tuple[str, str]]:
    """``POST …/Calls.json`` fields under Twilio's names; a list parameter repeats its key."""
    form = [("To", payload.To), ("From", payload.From)]
    if payload.Twiml is not None:
        form.append(("Twiml", payload.Twiml))
    if payload.Url is not None:
        form.append(("Url", payload.Url))
    if payload.StatusCallback is not None:
        form.append(("StatusCallback", payload.StatusCallback))
    form += [("StatusCallbackEvent", event) for event in payload.StatusCallbackEvent or ()]
    if payload.Timeout is not None:
        form.append(("Timeout", str(payload.Timeout)))
    if payload.TimeLimit is not None:
        form.append(("TimeLimit", str(payload.TimeLimit)))
    if payload.Record:
        form.append(("Record", "true"))
    return form


def call_result(body: Any, where: str) -> dict[str, Any]:
    """The call Twilio answered with, as the operation's result; an answer without a valid
    call SID is not one the gateway can use (``where`` names the request)."""
    if not isinstance(body, dict):
        raise VendorBadResponse(f"twilio answered {where} with JSON that is not a call")
    result = {name: body[name] for name in CALL_FIELDS if name in body}
    try:
        CallPlaced.model_validate(result)
    except ValueError:
        raise VendorBadResponse(
            f"twilio answered {where} with a call whose sid or status the gateway cannot read"
        ) from None
    return result
