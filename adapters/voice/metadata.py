"""The ``voice`` connector's contract: Twilio Voice (Calls resource, API 2010-04-01)."""

from __future__ import annotations

from gateway.contract import (
    ConnectorMetadata,
    DataClassification,
    Idempotency,
    OperationSpec,
    PolicyClass,
    RateLimit,
    RetryPolicy,
)

from .operations import CallPlaced, CallState, CancelCall, GetCall, PlaceCall

METADATA = ConnectorMetadata(
    key="voice",
    display_name="Twilio Voice",
    display_name_ar="تويليو للمكالمات الصوتية",
    version="1.0.0",
    contract_url="https://www.twilio.com/docs/voice/api/call-resource",
    operations=(
        OperationSpec(
            name="cancel_call",
            description="Cancel a queued or ringing call, or hang up one in progress.",
            payload_model=CancelCall,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            result_model=CallState,
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
            result_model=CallState,
            success_event="call_read",
            failure_event="call_read_failed",
        ),
        OperationSpec(
            name="place_call",
            description=(
                "Place an outgoing phone call. Compensated by cancel_call: the undo reads the "
                "call and cancels it while queued or ringing, or hangs it up while in "
                "progress; a call that has ended cannot be undone (NOT_COMPENSABLE)."
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
    # Twilio's Calls API takes no idempotency key and its call list cannot be searched for a
    # marker: the gateway stores the first answer and replays it; an unknown outcome stays
    # unknown for an operator to settle, and is never sent again.
    idempotency=Idempotency.GATEWAY,
    # Phone numbers and call content are personal data.
    data_classification=DataClassification.CONFIDENTIAL,
)
