"""Twilio Voice (Calls resource, API 2010-04-01): payload and result models.

Fields keep Twilio's parameter names from ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json``
and ``…/Calls/{Sid}.json``. The account SID and the auth token are configuration.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, StrictBool, model_validator

from adapters.shared.payloads import E164Phone, HttpsUrl, PayloadModel, VendorResult, integral

MAX_TWIML = 4000  # Twilio's limit for inline TwiML

# The call progress events Twilio can report to a status callback.
CallEvent = Literal["initiated", "ringing", "answered", "completed"]
# A call's status as Twilio reports it (call_enum_status).
CallStatus = Literal[
    "queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"
]

TwilioCallSid = Annotated[
    str, Field(pattern=r"^CA[0-9a-fA-F]{32}$", examples=["CA" + "0123456789abcdef" * 2])
]
RingSeconds = Annotated[int, Field(strict=True, ge=1, le=600), BeforeValidator(integral)]
CallSeconds = Annotated[int, Field(strict=True, ge=1, le=86_400), BeforeValidator(integral)]


class PlaceCall(PayloadModel):
    """Place an outgoing call to a phone number; exactly one of Twiml and Url says what the
    call does once answered."""

    To: E164Phone = Field(description="The phone number to call, in E.164 form.")
    From: E164Phone = Field(
        description="Caller id: a Twilio number or verified caller id of the account, E.164."
    )
    Twiml: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TWIML,
        description=f"TwiML instructions for the call, at most {MAX_TWIML} characters.",
        examples=["<Response><Say>Your appointment is tomorrow at 10.</Say></Response>"],
    )
    Url: HttpsUrl | None = Field(
        default=None, description="HTTPS URL that returns the TwiML for the call."
    )
    StatusCallback: HttpsUrl | None = Field(
        default=None,
        description=(
            "HTTPS URL Twilio notifies of the call's progress (by default only when it completes)."
        ),
    )
    StatusCallbackEvent: list[CallEvent] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description=(
            "The progress events StatusCallback hears of: initiated, ringing, answered, "
            "completed (Twilio: completed only). Needs StatusCallback."
        ),
        examples=[["initiated", "answered", "completed"]],
    )
    Timeout: RingSeconds | None = Field(
        default=None,
        description="Seconds to let the phone ring before giving up, 1 to 600 (Twilio: 60).",
    )
    TimeLimit: CallSeconds | None = Field(
        default=None,
        description="Maximum length of the call in seconds, 1 to 86400 (Twilio: 14400).",
    )
    Record: StrictBool = Field(default=False, description="Record the call.")

    @model_validator(mode="after")
    def _one_instruction(self) -> Self:
        if (self.Twiml is None) == (self.Url is None):
            raise ValueError("exactly one of Twiml and Url is required")
        if self.StatusCallbackEvent is not None:
            if self.StatusCallback is None:
                raise ValueError("StatusCallbackEvent needs StatusCallback, the URL to notify")
            if len(set(self.StatusCallbackEvent)) != len(self.StatusCallbackEvent):
                raise ValueError("StatusCallbackEvent names an event twice")
        return self


class CancelCall(PayloadModel):
    """End a call: cancel it while queued or ringing, or hang it up once in progress."""

    CallSid: TwilioCallSid = Field(description="The call's SID (CA followed by 32 hex digits).")
    Status: Literal["canceled", "completed"] = Field(
        default="canceled",
        description=(
            '"canceled" ends a call that is queued or ringing (no effect once answered); '
            '"completed" also hangs up a call in progress.'
        ),
    )


class GetCall(PayloadModel):
    """Read a call's status, direction, duration and price."""

    CallSid: TwilioCallSid = Field(description="The call's SID (CA followed by 32 hex digits).")


class CallPlaced(VendorResult):
    """What place_call returns: the SID its undo needs, and the call's state then."""

    sid: str = Field(pattern=r"^CA[0-9a-fA-F]{32}$", description="Twilio Call SID.")
    status: CallStatus | None = Field(
        default=None, description="The call's status when Twilio answered (usually queued)."
    )


class CallState(VendorResult):
    """A call as Twilio reports it (get_call, cancel_call)."""

    sid: str = Field(pattern=r"^CA[0-9a-fA-F]{32}$", description="Twilio Call SID.")
    status: CallStatus | None = Field(default=None, description="The call's status.")
