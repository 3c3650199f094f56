"""The ``stripe`` connector's contract: Stripe Payments (customers, PaymentIntents, refunds,
payment links).

Every write is NATIVE: each POST carries the execution's marker as Stripe's
``Idempotency-Key``, so an unknown outcome is settled by sending the same request again,
which Stripe answers with the stored response for 24 hours. ``delete_customer`` sends a
DELETE, which Stripe takes no key for: a repeat finds the customer already deleted, which
counts as done.

Each undoable operation names its undo, an operation of its own that an agent may also call
directly: ``create_customer`` -> ``delete_customer``, ``create_payment_link`` ->
``deactivate_payment_link``, ``create_payment_intent`` -> ``reverse_payment_intent`` (cancel
while nothing was captured, refund once it was). A refund, a cancellation and the undos
themselves cannot be undone.
"""

from __future__ import annotations

from pydantic import BaseModel

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
    CreateCustomer,
    CreatePaymentIntent,
    CreatePaymentLink,
    CreateRefund,
    DeactivatePaymentLink,
    DeleteCustomer,
    GetPaymentIntent,
    ReversePaymentIntent,
)
from .results import (
    CustomerDeleted,
    CustomerResult,
    PaymentIntentResult,
    PaymentIntentReversed,
    PaymentLinkResult,
    RefundResult,
)

CANCEL_PAYMENT_INTENT = "cancel_payment_intent"
CREATE_CUSTOMER = "create_customer"
CREATE_PAYMENT_INTENT = "create_payment_intent"
CREATE_PAYMENT_LINK = "create_payment_link"
CREATE_REFUND = "create_refund"
DEACTIVATE_PAYMENT_LINK = "deactivate_payment_link"
DELETE_CUSTOMER = "delete_customer"
GET_PAYMENT_INTENT = "get_payment_intent"
REVERSE_PAYMENT_INTENT = "reverse_payment_intent"


def _write(
    name: str,
    description: str,
    payload: type[BaseModel],
    result: type[BaseModel],
    events: tuple[str, str],
    compensation: str | None = None,
) -> OperationSpec:
    """A class B write that Stripe deduplicates by the marker it is sent with."""
    return OperationSpec(
        name=name,
        description=description,
        payload_model=payload,
        policy_class=PolicyClass.B,
        idempotency=Idempotency.NATIVE,
        compensation=compensation,
        result_model=result,
        success_event=events[0],
        failure_event=events[1],
    )


METADATA = ConnectorMetadata(
    key="stripe",
    display_name="Stripe Payments",
    display_name_ar="سترايب للمدفوعات",
    version="1.0.0",
    contract_url="https://docs.stripe.com/api",
    operations=(
        _write(
            CANCEL_PAYMENT_INTENT,
            "Cancel a PaymentIntent that has not succeeded yet; cannot be undone.",
            CancelPaymentIntent,
            PaymentIntentResult,
            ("payment_canceled", "payment_cancel_failed"),
        ),
        _write(
            CREATE_CUSTOMER,
            "Create a Customer. Undone by delete_customer.",
            CreateCustomer,
            CustomerResult,
            ("customer_created", "customer_create_failed"),
            compensation=DELETE_CUSTOMER,
        ),
        _write(
            CREATE_PAYMENT_INTENT,
            "Create an unconfirmed PaymentIntent for an amount in minor units. Undone by "
            "reverse_payment_intent (cancelled while uncaptured, refunded once captured).",
            CreatePaymentIntent,
            PaymentIntentResult,
            ("payment_created", "payment_failed"),
            compensation=REVERSE_PAYMENT_INTENT,
        ),
        _write(
            CREATE_PAYMENT_LINK,
            "Create a payment link selling the given Prices. Undone by deactivate_payment_link.",
            CreatePaymentLink,
            PaymentLinkResult,
            ("payment_link_created", "payment_link_failed"),
            compensation=DEACTIVATE_PAYMENT_LINK,
        ),
        _write(
            CREATE_REFUND,
            "Refund a succeeded PaymentIntent in full or in part; cannot be undone.",
            CreateRefund,
            RefundResult,
            ("refund_created", "refund_failed"),
        ),
        _write(
            DEACTIVATE_PAYMENT_LINK,
            "Deactivate a payment link so it takes no more payments; the undo of "
            "create_payment_link.",
            DeactivatePaymentLink,
            PaymentLinkResult,
            ("payment_link_deactivated", "payment_link_deactivate_failed"),
        ),
        _write(
            DELETE_CUSTOMER,
            "Delete a Customer permanently; the undo of create_customer. A customer already "
            "deleted counts as done.",
            DeleteCustomer,
            CustomerDeleted,
            ("customer_deleted", "customer_delete_failed"),
        ),
        OperationSpec(
            name=GET_PAYMENT_INTENT,
            description="Read a PaymentIntent by id (its client secret is never returned).",
            payload_model=GetPaymentIntent,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            result_model=PaymentIntentResult,
            success_event="payment_read",
            failure_event="payment_read_failed",
        ),
        _write(
            REVERSE_PAYMENT_INTENT,
            "Undo a PaymentIntent after reading its status: cancel it while nothing was "
            "captured, refund it in full once it succeeded; nothing when already canceled. "
            "The undo of create_payment_intent.",
            ReversePaymentIntent,
            PaymentIntentReversed,
            ("payment_reversed", "payment_reverse_failed"),
        ),
    ),
    # Standard backoff; the marker sent as Idempotency-Key makes every retry safe at Stripe.
    retry_policy=RetryPolicy(),
    # Unconfirmed PaymentIntent calls touch no bank and answer within a few seconds.
    timeout_ms=15_000,
    # Stripe live mode allows 100 read and 100 write operations a second.
    rate_limit=RateLimit(per_second=100, burst=100),
    idempotency=Idempotency.NATIVE,
    # Payment data (amounts, customers, payment methods) is regulated (PCI DSS scope).
    data_classification=DataClassification.RESTRICTED,
)
