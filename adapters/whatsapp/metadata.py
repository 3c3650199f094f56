"""The ``whatsapp`` connector's contract: WhatsApp Business (Meta Cloud API)."""

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

from .operations import MessageSent, SendTemplate, SendText

METADATA = ConnectorMetadata(
    key="whatsapp",
    display_name="WhatsApp Business API",
    display_name_ar="واتساب بيزنس",
    version="1.0.0",
    contract_url="https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages",
    operations=(
        OperationSpec(
            name="send_template",
            description=(
                "Send an approved template message to a WhatsApp user. A sent message cannot "
                "be recalled."
            ),
            payload_model=SendTemplate,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            result_model=MessageSent,
            success_event="message_sent",
            failure_event="message_failed",
        ),
        OperationSpec(
            name="send_text",
            description=(
                "Send a text message inside the 24-hour customer service window (outside it "
                "use send_template; WhatsApp refuses it with MESSAGING_WINDOW_CLOSED, or "
                "accepts it and reports the failure later by webhook). A sent message cannot "
                "be recalled."
            ),
            payload_model=SendText,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            result_model=MessageSent,
            success_event="message_sent",
            failure_event="message_failed",
        ),
    ),
    # Standard backoff: Graph API throughput throttling (HTTP 429) usually clears in seconds.
    retry_policy=RetryPolicy(),
    # A messages POST is one small JSON request; Graph API answers in well under 10 s.
    timeout_ms=10_000,
    # WhatsApp Cloud API default throughput: 80 messages a second per business number.
    rate_limit=RateLimit(per_second=80, burst=80),
    # Meta takes no idempotency key on /messages and offers no lookup of a sent message: the
    # gateway stores the first answer and replays it; an unknown outcome stays unknown for an
    # operator to settle, and is never sent again.
    idempotency=Idempotency.GATEWAY,
    # Phone numbers and message text are personal data.
    data_classification=DataClassification.CONFIDENTIAL,
)
