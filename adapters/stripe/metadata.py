"""The ``stripe`` connector's contract: Stripe Payments (PaymentIntents and Refunds)."""

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

from .operations import (
    CancelPaymentIntent,
    CreatePaymentIntent,
    CreateRefund,
    GetPaymentIntent,
    PaymentIntentCreated,
)

METADATA = ConnectorMetadata(
    key="stripe",
    display_name="Stripe Payments",
    display_name_ar="سترايب للمدفوعات",
    version="0.1.0",
    contract_url="https://docs.stripe.com/api/payment_intents",
    operations=(
        OperationSpec(
            name="cancel_payment_intent",
            description="Cancel a PaymentIntent that has not succeeded yet.",
            payload_model=CancelPaymentIntent,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.NATIVE,
            compensation=None,
            success_event="payment_canceled",
            failure_event="payment_cancel_failed",
        ),
        OperationSpec(
            name="create_payment_intent",
            description=(
                "Create an unconfirmed PaymentIntent for an amount in minor units. "
                "Compensated by cancel_payment_intent."
            ),
            payload_model=CreatePaymentIntent,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.NATIVE,
            compensation="cancel_payment_intent",
            result_model=PaymentIntentCreated,
            success_event="payment_created",
            failure_event="payment_failed",
        ),
        OperationSpec(
            name="create_refund",
            description="Refund a succeeded PaymentIntent in full or in part; cannot be undone.",
            payload_model=CreateRefund,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.NATIVE,
            compensation=None,
            success_event="refund_created",
            failure_event="refund_failed",
        ),
        OperationSpec(
            name="get_payment_intent",
            description="Read a PaymentIntent by id.",
            payload_model=GetPaymentIntent,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="payment_read",
            failure_event="payment_read_failed",
        ),
    ),
    # Standard backoff; the forwarded Idempotency-Key makes every retry safe at Stripe.
    retry_policy=RetryPolicy(),
    # Unconfirmed PaymentIntent calls touch no bank and answer within a few seconds.
    timeout_ms=15_000,
    # Stripe live mode allows 100 read and 100 write operations a second.
    rate_limit=RateLimit(per_second=100, burst=100),
    # Stripe takes an Idempotency-Key on every POST: the gateway forwards the caller's key.
    idempotency=Idempotency.NATIVE,
    # Payment data (amounts, customers, payment methods) is regulated (PCI DSS scope).
    data_classification=DataClassification.RESTRICTED,
)
