"""Stripe: what each operation returns, read from Stripe's answer.

Each result keeps the fields an agent acts on and no more; in particular a PaymentIntent's
``client_secret``, which lets whoever holds it confirm the payment, is never returned or
stored. Stripe's description types its ids as plain strings, so a result's id is only held to
what the undo needs of it: letters, digits and underscores, safe in a URL path.

The same models check the result an operator supplies when resolving an unknown outcome
(``result_schema`` in DescribeConnector): only the id is required there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, ValidationError

from adapters.http import VendorResponse
from adapters.shared.payloads import VendorResult
from gateway.errors import VendorBadResponse

StripeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,255}$")]


class CustomerResult(VendorResult):
    """A Customer: ``delete_customer`` undoes its creation by its id."""

    id: StripeId = Field(description="Stripe's Customer id (cus_...).")
    email: str | None = Field(default=None, description="The customer's email address.")
    name: str | None = Field(default=None, description="The customer's name.")
    phone: str | None = Field(default=None, description="The customer's phone number.")
    description: str | None = Field(default=None, description="Free text shown in the Dashboard.")
    metadata: dict[str, str] | None = Field(default=None, description="The stored metadata.")
    created: int | None = Field(default=None, description="Creation time, Unix seconds.")
    livemode: bool | None = Field(default=None, description="False in test mode.")


class PaymentIntentResult(VendorResult):
    """A PaymentIntent (without its client secret)."""

    id: StripeId = Field(description="Stripe's PaymentIntent id (pi_...).")
    status: str | None = Field(
        default=None,
        description=(
            "requires_payment_method, requires_confirmation, requires_action, processing, "
            "requires_capture, canceled or succeeded."
        ),
    )
    amount: int | None = Field(default=None, description="The amount, in minor units.")
    amount_capturable: int | None = Field(
        default=None, description="What can still be captured, in minor units."
    )
    amount_received: int | None = Field(
        default=None, description="What was received, in minor units."
    )
    currency: str | None = Field(default=None, description="Lowercase ISO 4217 code.")
    capture_method: str | None = Field(
        default=None, description="automatic, automatic_async or manual."
    )
    customer: str | None = Field(default=None, description="The Customer's id, if any.")
    description: str | None = Field(default=None, description="Free text shown in the Dashboard.")
    latest_charge: str | None = Field(default=None, description="The latest Charge's id, if any.")
    canceled_at: int | None = Field(default=None, description="Cancellation time, Unix seconds.")
    cancellation_reason: str | None = Field(default=None, description="Why it was canceled.")
    metadata: dict[str, str] | None = Field(default=None, description="The stored metadata.")
    created: int | None = Field(default=None, description="Creation time, Unix seconds.")
    livemode: bool | None = Field(default=None, description="False in test mode.")


class RefundResult(VendorResult):
    """A Refund."""

    id: StripeId = Field(description="Stripe's Refund id (re_...).")
    status: str | None = Field(
        default=None, description="pending, requires_action, succeeded, failed or canceled."
    )
    amount: int | None = Field(default=None, description="The refunded amount, in minor units.")
    currency: str | None = Field(default=None, description="Lowercase ISO 4217 code.")
    payment_intent: str | None = Field(default=None, description="The refunded PaymentIntent.")
    reason: str | None = Field(default=None, description="Why the refund was made.")
    metadata: dict[str, str] | None = Field(default=None, description="The stored metadata.")
    created: int | None = Field(default=None, description="Creation time, Unix seconds.")


class PaymentLinkResult(VendorResult):
    """A payment link: ``deactivate_payment_link`` undoes its creation by its id."""

    id: StripeId = Field(description="Stripe's payment link id (plink_...).")
    url: str | None = Field(default=None, description="The link customers open to pay.")
    active: bool | None = Field(default=None, description="Whether the link takes payments.")
    metadata: dict[str, str] | None = Field(default=None, description="The stored metadata.")
    livemode: bool | None = Field(default=None, description="False in test mode.")


class CustomerDeleted(VendorResult):
    """A deleted Customer."""

    id: StripeId = Field(description="The deleted Customer's id.")
    deleted: bool = Field(default=True, description="Always true.")


class PaymentIntentReversed(VendorResult):
    """What undoing a PaymentIntent did."""

    payment_intent: StripeId = Field(description="The PaymentIntent's id.")
    action: Literal["canceled", "refunded", "none"] = Field(
        description=(
            "canceled: it had not been captured and is now canceled; refunded: it had "
            "succeeded and is refunded in full; none: it was already canceled."
        )
    )
    status: str | None = Field(default=None, description="The PaymentIntent's status now.")
    refund: StripeId | None = Field(
        default=None, description="The Refund's id, when the action is refunded."
    )


R = TypeVar("R", bound=VendorResult)


def read_result(model: type[R], response: VendorResponse, where: str) -> R:
    """Stripe's answer read into ``model``; VENDOR_BAD_RESPONSE when it does not fit. The
    error names the fields at fault, never the values Stripe sent."""
    problem: str
    if isinstance(response.body, dict):
        try:
            return model.model_validate(response.body)
        except ValidationError as error:
            fields = sorted({".".join(str(p) for p in item["loc"]) for item in error.errors()})
            problem = f"an answer whose {', '.join(fields)} does not fit"
    else:
        problem = "an answer that is not a JSON object"
    raise VendorBadResponse(
        f"stripe answered {where} with {problem}; it may have acted: check with Stripe before "
        "repeating it",
        metadata={"vendor_status": str(response.status)},
    )


def as_result(result: VendorResult) -> dict[str, Any]:
    """The declared fields of ``result``, as the gateway returns and stores them."""
    return result.model_dump(mode="json", include=set(type(result).model_fields))
