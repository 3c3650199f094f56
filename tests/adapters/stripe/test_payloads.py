"""The payload models refuse what Stripe would refuse, or what must never reach it, before
any request is made; and their JSON schemas describe every field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from adapters.stripe import PLUGIN
from adapters.stripe.operations import (
    CreateCustomer,
    CreatePaymentIntent,
    CreatePaymentLink,
    CreateRefund,
    DeactivatePaymentLink,
    DeleteCustomer,
    GetPaymentIntent,
)


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (GetPaymentIntent, {"payment_intent": "pi_1_secret_abc"}, "payment_intent"),
        (GetPaymentIntent, {"payment_intent": "pi_1/../../v1/balance"}, "payment_intent"),
        (GetPaymentIntent, {"payment_intent": "cus_1"}, "payment_intent"),
        (CreatePaymentIntent, {"amount": 10.5, "currency": "usd"}, "amount"),
        (CreatePaymentIntent, {"amount": "100", "currency": "usd"}, "amount"),
        (CreatePaymentIntent, {"amount": 0, "currency": "usd"}, "amount"),
        (CreatePaymentIntent, {"amount": 100, "currency": "USD"}, "currency"),
        (CreatePaymentIntent, {"amount": 100, "currency": "usd", "confirm": True}, "confirm"),
        (
            CreatePaymentIntent,
            {"amount": 100, "currency": "usd", "metadata": {"a[b]": "x"}},
            "metadata.a[b].[key]",
        ),
        (CreateCustomer, {"email": "not-an-address"}, "email"),
        (CreateCustomer, {"name": "two\nlines"}, "name"),
        (CreateCustomer, {"phone": "555-0100"}, "phone"),
        (CreateCustomer, {"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        (CreateRefund, {"payment_intent": "pi_1", "reason": "changed_mind"}, "reason"),
        (CreatePaymentLink, {"line_items": []}, "line_items"),
        (
            CreatePaymentLink,
            {"line_items": [{"price": "price_1", "quantity": 1}] * 21},
            "line_items",
        ),
        (CreatePaymentLink, {"line_items": [{"price": "prod_1", "quantity": 1}]}, "price"),
        (CreatePaymentLink, {"line_items": [{"price": "price_1", "quantity": 0}]}, "quantity"),
        (
            CreatePaymentLink,
            {"line_items": [{"price": "price_1", "quantity": 1}], "redirect_url": "http://x"},
            "redirect_url",
        ),
        (DeleteCustomer, {"customer": "cus_1 "}, "customer"),
        (DeactivatePaymentLink, {"payment_link": "plink_1?active=true"}, "payment_link"),
    ],
)
def test_a_payload_that_breaks_the_model_is_refused_naming_the_field(
    model: type[BaseModel], payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    where = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    assert any(w == field or w.startswith(f"{field}.") or w.endswith(f".{field}") for w in where), (
        where
    )


def test_amounts_arriving_as_whole_doubles_are_integers() -> None:
    # A google.protobuf.Struct carries every number as a double.
    intent = CreatePaymentIntent.model_validate({"amount": 2000.0, "currency": "usd"})
    assert intent.amount == 2000
    assert isinstance(intent.amount, int)


def test_every_field_of_every_operation_is_described() -> None:
    for operation in PLUGIN.metadata.operations:
        for model in filter(None, (operation.payload_model, operation.result_model)):
            schema = model.model_json_schema()
            for name, prop in schema.get("properties", {}).items():
                assert prop.get("description"), f"{model.__name__}.{name} has no description"
