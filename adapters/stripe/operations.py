"""Stripe: the payloads agents send, validated before anything reaches Stripe.

Fields follow Stripe's OpenAPI description (API version 2023-08-16) of the requests they
become (see ``api.py``). Every id names its object type by Stripe's prefix and holds only
letters, digits and underscores, so it is safe in a URL path.

``create_payment_intent`` deliberately has no ``confirm``: the intent is created unconfirmed,
so no money moves until the customer's side confirms it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, EmailStr, Field

from adapters.shared.payloads import (
    E164Phone,
    HeaderText,
    HttpsUrl,
    MetadataValue,
    PayloadModel,
    integral,
)

MAX_AMOUNT = 99_999_999  # Stripe's 8-digit ceiling per charge, far below 2^53
MAX_LINE_ITEMS = 20  # Stripe's limit per payment link
MAX_QUANTITY = 999_999  # Stripe Checkout's largest quantity per line item

# Amounts are integers in the currency's smallest unit (cents; yen for zero-decimal currencies).
Amount = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT), BeforeValidator(integral)]
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY), BeforeValidator(integral)]
Currency = Annotated[str, Field(pattern=r"^[a-z]{3}$", examples=["usd", "sar", "eur"])]


def _stripe_id(prefix: str, example: str) -> Any:
    return Field(pattern=rf"^{prefix}_[A-Za-z0-9]{{1,250}}$", examples=[example])


# Letters and digits only after the prefix, which also refuses a client secret (pi_…_secret_…).
PaymentIntentId = Annotated[str, _stripe_id("pi", "pi_3MtwBwLkdIwHu7ix28a3tqPa")]
CustomerId = Annotated[str, _stripe_id("cus", "cus_NffrFeUfNV2Hib")]
PriceId = Annotated[str, _stripe_id("price", "price_1MoBy5LkdIwHu7ixZhnattbh")]
PaymentLinkId = Annotated[str, _stripe_id("plink", "plink_1MoC3ULkdIwHu7ixZjtGpVl2")]
# A PaymentMethod, or a Card or compatible Source object (test tokens such as pm_card_visa).
PaymentMethodId = Annotated[
    str, Field(pattern=r"^(pm|card|src)_[A-Za-z0-9_]{1,250}$", examples=["pm_card_visa"])
]

# Stripe's metadata: at most 50 keys of up to 40 characters, values up to 500 characters.
# A key holds no square bracket, which the form encoding uses to nest (metadata[key]=value).
StripeMetadataKey = Annotated[HeaderText, Field(min_length=1, max_length=40, pattern=r"^[^\[\]]+$")]
StripeMetadata = Annotated[dict[StripeMetadataKey, MetadataValue], Field(max_length=50)]

_AMOUNT_HELP = (
    f"A positive integer in the currency's smallest unit (100 = 1.00 USD; 100 = 100 JPY), "
    f"at most {MAX_AMOUNT}."
)
_METADATA_HELP = (
    "Up to 50 key-value pairs stored on the Stripe object (keys: 1 to 40 characters without "
    "square brackets or line breaks; values: up to 500 characters)."
)


class GetPaymentIntent(PayloadModel):
    """Read a PaymentIntent's amount, currency and status."""

    payment_intent: PaymentIntentId = Field(description="The PaymentIntent's id.")


class CreateCustomer(PayloadModel):
    """Create a Customer, to attach payments and payment methods to."""

    email: EmailStr | None = Field(
        default=None, max_length=512, description="The customer's email address."
    )
    name: HeaderText | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The customer's full name or business name, on one line.",
    )
    phone: E164Phone | None = Field(
        default=None, description="The customer's phone number in E.164 form (+14155550123)."
    )
    description: str | None = Field(
        default=None, max_length=1000, description="Free text shown in the Dashboard."
    )
    metadata: StripeMetadata | None = Field(default=None, description=_METADATA_HELP)


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
    metadata: StripeMetadata | None = Field(default=None, description=_METADATA_HELP)


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
    metadata: StripeMetadata | None = Field(default=None, description=_METADATA_HELP)


class LineItem(PayloadModel):
    """One product on a payment link: a Price and how many of it."""

    price: PriceId = Field(description="The Price (product and amount) being sold.")
    quantity: Quantity = Field(
        description=f"How many units are sold, 1 to {MAX_QUANTITY}.", examples=[1]
    )


class CreatePaymentLink(PayloadModel):
    """Create a shareable payment link that sells the given Prices."""

    line_items: list[LineItem] = Field(
        min_length=1,
        max_length=MAX_LINE_ITEMS,
        description=f"What the link sells: 1 to {MAX_LINE_ITEMS} line items.",
    )
    redirect_url: HttpsUrl | None = Field(
        default=None,
        description=(
            "Where the customer is sent after paying; without it Stripe shows its own "
            "confirmation page."
        ),
    )
    metadata: StripeMetadata | None = Field(default=None, description=_METADATA_HELP)


class DeleteCustomer(PayloadModel):
    """Delete a Customer permanently; Stripe cancels its active subscriptions."""

    customer: CustomerId = Field(description="The Customer's id.")


class DeactivatePaymentLink(PayloadModel):
    """Deactivate a payment link: its URL then shows that the link is no longer active."""

    payment_link: PaymentLinkId = Field(description="The payment link's id.")


class ReversePaymentIntent(PayloadModel):
    """Undo a PaymentIntent: cancel it while no money was captured, refund it once it was."""

    payment_intent: PaymentIntentId = Field(description="The PaymentIntent's id.")
