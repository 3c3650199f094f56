"""Twilio Voice (Calls resource, API 2010-04-01): payload models and connector metadata.

Fields keep Twilio's parameter names from ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json``
and ``…/Calls/{Sid}.json``. The account SID and the auth token are configuration.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, StrictBool, model_validator

from adapters.catalog._common import CatalogModel, E164Phone, HttpsUrl, integral
from adapters.catalog.results import CallPlaced
from gateway.contract import (
    ConnectorMetadata,
    DataClassification,
    Idempotency,
    OperationSpec,
    PolicyClass,
    RateLimit,
    RetryPolicy,
)

MAX_TWIML = 4000  # Twilio's limit for inline TwiML

TwilioCallSid = Annotated[
    str, Field(pattern=r"^CA[0-9a-fA-F]{32}$", examples=["CA" + "0123456789abcdef" * 2])
]
RingSeconds = Annotated[int, Field(strict=True, ge=1, le=600), BeforeValidator(integral)]
CallSeconds = Annotated[int, Field(strict=True, ge=1, le=86_400), BeforeValidator(integral)]


class PlaceCall(CatalogModel):
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
        default=None, description="HTTPS URL Twilio notifies when the call completes."
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
        return self


class CancelCall(CatalogModel):
    """End a call: cancel it while queued or ringing, or hang it up once in progress."""

    CallSid: TwilioCallSid = Field(description="The call's SID (CA followed by 32 hex digits).")
    Status: Literal["canceled", "completed"] = Field(
        default="canceled",
        description=(
            '"canceled" ends a call that is queued or ringing (no effect once answered); '
            '"completed" also hangs up a call in progress.'
        ),
    )


class GetCall(CatalogModel):
    """Read a call's status, direction, duration and price."""

    CallSid: TwilioCallSid = Field(description="The call's SID (CA followed by 32 hex digits).")


METADATA = ConnectorMetadata(
    key="voice",
    display_name="Twilio Voice",
    display_name_ar="تويليو للمكالمات الصوتية",
    version="0.1.0",
    contract_url="https://www.twilio.com/docs/voice/api/call-resource",
    operations=(
        OperationSpec(
            name="cancel_call",
            description="Cancel a queued or ringing call, or hang up one in progress.",
            payload_model=CancelCall,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            success_event="call_canceled",
            failure_event="call_cancel_failed",
        ),
        OperationSpec(
            name="get_call",
            description="Read a call by SID.",
            payload_model=GetCall,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="call_read",
            failure_event="call_read_failed",
        ),
        OperationSpec(
            name="place_call",
            description=(
                "Place an outgoing phone call. Compensated by cancel_call, which stops it only "
                "while it has not ended."
            ),
            payload_model=PlaceCall,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation="cancel_call",
            result_model=CallPlaced,
            success_event="call_placed",
            failure_event="call_failed",
        ),
    ),
    # Two quick retries only: a call placed late is worse than a call reported as failed.
    retry_policy=RetryPolicy(max_retries=2, backoff_ms=(1000, 2000)),
    # Creating a call returns once it is queued, well within 10 s.
    timeout_ms=10_000,
    # Twilio places 1 outbound call a second per account unless raised (CPS).
    rate_limit=RateLimit(per_second=1, burst=1),
    # Twilio's Calls API takes no idempotency key: the gateway replays the first result.
    idempotency=Idempotency.GATEWAY,
    # Phone numbers and call content are personal data.
    data_classification=DataClassification.CONFIDENTIAL,
)
