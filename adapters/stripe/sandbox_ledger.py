"""One tenant's Stripe objects in the sandbox, and their life cycle as Stripe runs it.

Customers, PaymentIntents, refunds and payment links are kept as the JSON objects Stripe
answers with, in the shapes of Stripe's API (version 2023-08-16). A PaymentIntent starts as
``requires_payment_method`` (``requires_confirmation`` with a payment method); the customer's
side confirms it (``POST /v1/payment_intents/{id}/confirm``), after which it has ``succeeded``
(automatic capture) or ``requires_capture`` (``capture_method=manual``, until ``capture``).
Until it succeeded it can be canceled; once it did, it can be refunded, in parts, up to what
was received. Stripe's test payment methods decide a confirmation: ``pm_card_visa``,
``pm_card_mastercard`` and ``pm_card_amex`` pay, ``pm_card_chargeDeclined`` and
``pm_card_chargeDeclinedInsufficientFunds`` are declined (402 ``card_declined``).

Each change is recorded (``record``) as a short summary named by Stripe's event type
(``payment_intent.succeeded``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from .sandbox_requests import (
    CancelParams,
    CaptureParams,
    ConfirmParams,
    CustomerParams,
    PaymentIntentParams,
    PaymentLinkParams,
    PaymentLinkUpdateParams,
    RefundParams,
    StripeFailure,
    missing,
)

PAYING_METHODS = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex"})
DECLINING_METHODS = {
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
CANCELABLE = CONFIRMABLE | {"requires_capture", "processing"}
LINK_CURRENCY = "usd"  # the sandbox keeps no prices: a link sells any price_ id in usd

Objects = Callable[[str], dict[str, dict[str, Any]]]  # kind -> the tenant's objects by id
Record = Callable[[dict[str, Any]], None]


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _metadata(given: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in given.items() if value}  # "" unsets a key


def _summary(event: str, found: dict[str, Any], *fields: str) -> dict[str, Any]:
    summary = {"event": event, "id": found["id"]}
    summary.update({name: found[name] for name in fields if found.get(name) is not None})
    return summary


class StripeLedger:
    """A tenant's objects (``objects(kind)``) and what acting on them records."""

    def __init__(self, objects: Objects, record: Record) -> None:
        self._objects = objects
        self._record = record

    # --- customers -----------------------------------------------------------------------

    def create_customer(self, params: CustomerParams) -> dict[str, Any]:
        customer: dict[str, Any] = {
            "id": _id("cus"),
            "object": "customer",
            "balance": 0,
            "created": int(time.time()),
            "currency": None,
            "delinquent": False,
            "description": params.description,
            "email": params.email,
            "invoice_prefix": secrets.token_hex(4).upper(),
            "livemode": False,
            "metadata": _metadata(params.metadata),
            "name": params.name,
            "phone": params.phone,
            "preferred_locales": [],
            "tax_exempt": "none",
        }
        self._objects("customer")[customer["id"]] = customer
        self._record(_summary("customer.created", customer, "email", "name"))
        return customer

    def customer(self, customer_id: str) -> dict[str, Any]:
        """A customer; a deleted one reads as ``deleted: true``, as at Stripe."""
        found = self._objects("customer").get(customer_id)
        if found is None:
            raise missing("customer", customer_id, "customer")
        return found

    def delete_customer(self, customer_id: str) -> dict[str, Any]:
        found = self.customer(customer_id)
        if found.get("deleted"):
            raise missing("customer", customer_id, "customer")
        deleted: dict[str, Any] = {"id": customer_id, "object": "customer", "deleted": True}
        self._objects("customer")[customer_id] = deleted
        self._record(_summary("customer.deleted", deleted))
        return deleted

    # --- PaymentIntents ------------------------------------------------------------------

    def create_payment_intent(self, params: PaymentIntentParams) -> dict[str, Any]:
        if params.customer is not None:
            found = self._objects("customer").get(params.customer)
            if found is None or found.get("deleted"):
                raise missing("customer", params.customer, "customer", status=400)
        if params.payment_method is not None:
            self._payment_method(params.payment_method)
        intent_id = _id("pi")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": params.amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": params.capture_method,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": params.currency.lower(),
            "customer": params.customer,
            "description": params.description,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": _metadata(params.metadata),
            "next_action": None,
            "payment_method": params.payment_method,
            "payment_method_types": ["card"],
            "receipt_email": params.receipt_email,
            "status": (
                "requires_payment_method"
                if params.payment_method is None
                else "requires_confirmation"
            ),
        }
        self._objects("payment_intent")[intent_id] = intent
        self._record(
            _summary("payment_intent.created", intent, "amount", "currency", "status", "customer")
        )
        return intent

    def payment_intent(self, intent_id: str, param: str = "intent") -> dict[str, Any]:
        found = self._objects("payment_intent").get(intent_id)
        if found is None:
            raise missing(
                "payment_intent", intent_id, param, status=404 if param == "intent" else 400
            )
        return found

    def cancel_payment_intent(self, intent_id: str, params: CancelParams) -> dict[str, Any]:
        intent = self.payment_intent(intent_id)
        if intent["status"] not in CANCELABLE:
            raise _unexpected_state("cancel", intent)
        intent.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=params.cancellation_reason,
            amount_capturable=0,
        )
        self._record(_summary("payment_intent.canceled", intent, "cancellation_reason"))
        return intent

    def confirm_payment_intent(self, intent_id: str, params: ConfirmParams) -> dict[str, Any]:
        """The customer's side confirms: the payment method pays, or is declined."""
        intent = self.payment_intent(intent_id)
        if intent["status"] not in CONFIRMABLE:
            raise _unexpected_state("confirm", intent)
        method = params.payment_method or intent["payment_method"]
        if method is None:
            raise StripeFailure(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
            )
        self._payment_method(method)
        decline = DECLINING_METHODS.get(method)
        if decline is not None:
            error = {"code": "card_declined", "decline_code": decline, "type": "card_error"}
            intent.update(status="requires_payment_method", payment_method=None)
            intent["last_payment_error"] = {**error, "message": "Your card was declined."}
            self._record(_summary("payment_intent.payment_failed", intent, "amount", "currency"))
            raise StripeFailure(
                402,
                "Your card was declined.",
                code="card_declined",
                decline_code=decline,
                kind="card_error",
            )
        intent.update(payment_method=method, last_payment_error=None, latest_charge=_id("ch"))
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            event = "payment_intent.amount_capturable_updated"
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
            event = "payment_intent.succeeded"
        self._record(_summary(event, intent, "amount", "currency", "status"))
        return intent

    def capture_payment_intent(self, intent_id: str, params: CaptureParams) -> dict[str, Any]:
        intent = self.payment_intent(intent_id)
        if intent["status"] != "requires_capture":
            raise _unexpected_state("capture", intent)
        amount = params.amount_to_capture or intent["amount_capturable"]
        if amount > intent["amount_capturable"]:
            raise StripeFailure(
                400,
                "The amount to capture is greater than the amount capturable.",
                code="amount_too_large",
                param="amount_to_capture",
            )
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._record(_summary("payment_intent.succeeded", intent, "amount_received", "currency"))
        return intent

    def _payment_method(self, method: str) -> None:
        if method not in PAYING_METHODS and method not in DECLINING_METHODS:
            raise StripeFailure(
                400,
                f"No such PaymentMethod: '{method}'",
                code="resource_missing",
                param="payment_method",
            )

    # --- refunds -------------------------------------------------------------------------

    def create_refund(self, params: RefundParams) -> dict[str, Any]:
        intent = self.payment_intent(params.payment_intent, param="payment_intent")
        if intent["status"] != "succeeded":
            raise StripeFailure(
                400,
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        left = intent["amount_received"] - self.refunded(intent["id"])
        if left <= 0:
            raise StripeFailure(
                400,
                f"Charge {intent['latest_charge']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = params.amount if params.amount is not None else left
        if amount > left:
            raise StripeFailure(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        refund: dict[str, Any] = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": _id("txn"),
            "charge": intent["latest_charge"],
            "created": int(time.time()),
            "currency": intent["currency"],
            "metadata": _metadata(params.metadata),
            "payment_intent": intent["id"],
            "reason": params.reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self._objects("refund")[refund["id"]] = refund
        self._record(_summary("refund.created", refund, "payment_intent", "amount", "currency"))
        return refund

    def refunded(self, intent_id: str) -> int:
        refunds = self._objects("refund").values()
        return sum(r["amount"] for r in refunds if r["payment_intent"] == intent_id)

    # --- payment links -------------------------------------------------------------------

    def create_payment_link(self, params: PaymentLinkParams) -> dict[str, Any]:
        after = params.after_completion
        if after is not None and after.type == "redirect" and after.redirect is None:
            raise StripeFailure(
                400,
                "Missing required param: after_completion[redirect].",
                code="parameter_missing",
                param="after_completion[redirect]",
                ran=False,
            )
        completion: dict[str, Any] = (
            {"type": "redirect", "redirect": {"url": after.redirect.url}}
            if after is not None and after.redirect is not None and after.type == "redirect"
            else {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": None}}
        )
        link_id = _id("plink")
        link: dict[str, Any] = {
            "id": link_id,
            "object": "payment_link",
            "active": True,
            "after_completion": completion,
            "allow_promotion_codes": False,
            "application_fee_amount": None,
            "application_fee_percent": None,
            "automatic_tax": {"enabled": False},
            "billing_address_collection": "auto",
            "currency": LINK_CURRENCY,
            "custom_fields": [],
            "custom_text": {"shipping_address": None, "submit": None},
            "customer_creation": "if_required",
            "livemode": False,
            "metadata": _metadata(params.metadata),
            "payment_method_collection": "always",
            "phone_number_collection": {"enabled": False},
            "shipping_options": [],
            "submit_type": "auto",
            "tax_id_collection": {"enabled": False},
            "url": f"https://pay.sandbox.invalid/{link_id}",
        }
        self._objects("payment_link")[link_id] = link
        summary = _summary("payment_link.created", link, "url")
        summary["line_items"] = [item.model_dump() for item in params.line_items]
        self._record(summary)
        return link

    def update_payment_link(self, link_id: str, params: PaymentLinkUpdateParams) -> dict[str, Any]:
        link = self._objects("payment_link").get(link_id)
        if link is None:
            raise missing("payment_link", link_id, "payment_link")
        if params.active is not None:
            link["active"] = params.active
        if params.metadata is not None:
            link["metadata"] = _metadata({**link["metadata"], **params.metadata})
        self._record(_summary("payment_link.updated", link, "active"))
        return link

    # --- the balance ---------------------------------------------------------------------

    def balance(self) -> dict[str, Any]:
        """What succeeded PaymentIntents received less what was refunded, by currency."""
        totals: dict[str, int] = {}
        for intent in self._objects("payment_intent").values():
            received = intent["amount_received"] - self.refunded(intent["id"])
            if received:
                totals[intent["currency"]] = totals.get(intent["currency"], 0) + received
        available = [
            {"amount": amount, "currency": currency, "source_types": {"card": amount}}
            for currency, amount in sorted(totals.items())
        ] or [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]
        return {"object": "balance", "available": available, "pending": [], "livemode": False}


def _unexpected_state(action: str, intent: dict[str, Any]) -> StripeFailure:
    return StripeFailure(
        400,
        f"You cannot {action} this PaymentIntent because it has a status of {intent['status']}.",
        code="payment_intent_unexpected_state",
    )
