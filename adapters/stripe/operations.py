"""Stripe Payments (PaymentIntents and Refunds): payload models and connector metadata.

Fields follow Stripe's OpenAPI (API version 2023-08-16) for ``POST /v1/payment_intents``,
``POST /v1/payment_intents/{intent}/cancel``, ``GET /v1/payment_intents/{intent}`` and
``POST /v1/refunds``. Every POST carries the execution's ``Idempotency-Key``.

``create_payment_intent`` deliberately has no ``confirm``: the intent is created unconfirmed,
so no money moves and ``cancel_payment_intent`` can undo it. A confirmed (captured) payment is
undone by a refund, which is a new, separately approved decision.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, EmailStr, Field

from adapters.catalog._common import CatalogModel, Metadata, integral
from adapters.catalog.results import PaymentIntentCreated
from gateway.contract import (
    ConnectorMetadata,
    DataClassification,
    Idempotency,
    OperationSpec,
    PolicyClass,
    RateLimit,
    RetryPolicy,
)

MAX_AMOUNT = 99_999_999  # Stripe's 8-digit ceiling per charge, far below 2^53

# Amounts are integers in the currency's smallest unit (cents; yen for zero-decimal currencies).
Amount = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT), BeforeValidator(integral)]
Currency = Annotated[str, Field(pattern=r"^[a-z]{3}$", examples=["usd", "sar", "eur"])]
# Letters and digits only, which also refuses a client secret (pi_…_secret_…).
PaymentIntentId = Annotated[
    str, Field(pattern=r"^pi_[A-Za-z0-9]{1,250}$", examples=["pi_3MtwBwLkdIwHu7ix28a3tqPa"])
]
CustomerId = Annotated[
    str, Field(pattern=r"^cus_[A-Za-z0-9]{1,250}$", examples=["cus_NffrFeUfNV2Hib"])
]
# A PaymentMethod, or a Card or compatible Source object (test tokens such as pm_card_visa).
PaymentMethodId = Annotated[
    str, Field(pattern=r"^(pm|card|src)_[A-Za-z0-9_]{1,250}$", examples=["pm_card_visa"])
]

_AMOUNT_HELP = (
    f"A positive integer in the currency's smallest unit (100 = 1.00 USD; 100 = 100 JPY), "
    f"at most {MAX_AMOUNT}."
)


class CreatePaymentIntent(CatalogModel):
    """Create an unconfirmed PaymentIntent: no money moves until it is confirmed."""

    amount: Amount = Field(description=_AMOUNT_HELP, examples=[2000])
    currency: Currency = Field(
        description="Three-letter ISO 4217 currency code in lowercase; a currency Stripe supports."
    )
    customer: CustomerId | None = Field(
        default=None, description="The Customer this payment belongs to."
    )
    payment_method: PaymentMethodId | None = Field(
        default=None, description="The payment method to attach to the intent."
    )
    description: str | None = Field(
        default=None, max_length=1000, description="Free text shown in the Dashboard."
    )
    receipt_email: EmailStr | None = Field(
        default=None, description="Where Stripe sends the receipt once the payment succeeds."
    )
    metadata: Metadata | None = Field(
        default=None,
        description="Up to 50 key-value pairs (keys <= 40, values <= 500 characters).",
    )


class CancelPaymentIntent(CatalogModel):
    """Cancel a PaymentIntent that has not succeeded yet (requires_* or processing)."""

    payment_intent: PaymentIntentId = Field(description="The PaymentIntent's id.")
    cancellation_reason: (
        Literal["abandoned", "duplicate", "fraudulent", "requested_by_customer"] | None
    ) = Field(default=None, description="Why the payment is canceled.")


class CreateRefund(CatalogModel):
    """Refund a succeeded PaymentIntent in full or in part."""

    payment_intent: PaymentIntentId = Field(description="The PaymentIntent to refund.")
    amount: Amount | None = Field(
        default=None,
        description=f"The amount to refund; omit for everything not yet refunded. {_AMOUNT_HELP}",
    )
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = Field(
        default=None, description="Why the refund is made."
    )
    metadata: Metadata | None = Field(
        default=None,
        description="Up to 50 key-value pairs (keys <= 40, values <= 500 characters).",
    )


class GetPaymentIntent(CatalogModel):
    """Read a PaymentIntent's amount, currency and status."""

    payment_intent: PaymentIntentId = Field(description="The PaymentIntent's id.")


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
