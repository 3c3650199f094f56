"""The ``email`` connector's contract under the governance standard."""

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

from .operations import SendEmail

SEND = "send"

EMAIL_METADATA = ConnectorMetadata(
    key="email",
    display_name="Email (SMTP)",
    display_name_ar="البريد الإلكتروني",
    version="1.0.0",
    contract_url="https://www.rfc-editor.org/rfc/rfc5321",
    operations=(
        OperationSpec(
            name=SEND,
            description=(
                "Send one email message from the gateway's configured sender address "
                "through its SMTP relay. A sent message cannot be recalled."
            ),
            payload_model=SendEmail,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            read_only=False,
            compensation=None,  # a delivered message cannot be undone
            success_event="message_sent",
            failure_event="message_failed",
        ),
    ),
    retry_policy=RetryPolicy(),
    timeout_ms=10_000,
    # SMTP relays publish no common quota; 10 a second stays clear of typical relay limits.
    rate_limit=RateLimit(per_second=10, burst=20),
    idempotency=Idempotency.GATEWAY,
    data_classification=DataClassification.CONFIDENTIAL,
)
