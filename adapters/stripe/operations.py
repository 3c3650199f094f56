"""Stripe Payments (PaymentIntents and Refunds): payload and result models.

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

from adapters.shared.payloads import Metadata, PayloadModel, VendorResult, integral

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


class CreatePaymentIntent(PayloadModel):
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


class CancelPaymentIntent(PayloadModel):
    """Cancel a PaymentIntent that has not succeeded yet (requires_* or processing)."""

    payment_intent: PaymentIntentId = Field(description="The PaymentIntent's id.")
    cancellation_reason: (
        Literal["abandoned", "duplicate", "fraudulent", "requested_by_customer"] | None
    ) = Field(default=None, description="Why the payment is canceled.")


class CreateRefund(PayloadModel):
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


class GetPaymentIntent(PayloadModel):
    """Read a PaymentIntent's amount, currency and status."""

    payment_intent: PaymentIntentId = Field(description="The PaymentIntent's id.")


class PaymentIntentCreated(VendorResult):
    """What create_payment_intent returns: the id cancel_payment_intent needs."""

    id: str = Field(pattern=r"^pi_[A-Za-z0-9]{1,200}$", description="Stripe PaymentIntent id.")
