"""The payload models refuse what Stripe would refuse, or what must never reach it, before
any request is made, and their JSON schemas describe every field and refuse unknown ones.
(That line separators are refused outside free text is checked through the gateway, with
every connector, in ``tests/integration/test_payload_line_separators.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from adapters.stripe import PLUGIN
from adapters.stripe.operations import (
    MAX_AMOUNT,
    CreateCustomer,
    CreatePaymentIntent,
    CreatePaymentLink,
    CreateRefund,
    DeactivatePaymentLink,
    DeleteCustomer,
    GetPaymentIntent,
)
from tests.adapters.stripe.examples import PI, VALID
from tests.support.payload_examples import schema_nodes, through_struct


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


def test_every_field_of_every_operation_is_described() -> None:
    for operation in PLUGIN.metadata.operations:
        for model in filter(None, (operation.payload_model, operation.result_model)):
            schema = model.model_json_schema()
            for name, prop in schema.get("properties", {}).items():
                assert prop.get("description"), f"{model.__name__}.{name} has no description"


MAX_SAFE_INTEGER = 2**53 - 1


def test_every_operation_has_a_valid_example() -> None:
    assert set(VALID) == {op.name for op in PLUGIN.metadata.operations}
    for operation in PLUGIN.metadata.operations:
        operation.payload_model.model_validate(VALID[operation.name])


@pytest.mark.parametrize("operation", sorted(VALID))
def test_every_model_refuses_unknown_fields_and_bounds_its_integers(operation: str) -> None:
    spec = PLUGIN.metadata.operation(operation)
    assert spec is not None
    for node in schema_nodes(spec.payload_model.model_json_schema()):
        if "properties" in node:
            assert node.get("additionalProperties") is False, node.get("title")
        if node.get("type") == "integer":
            assert node.get("minimum", node.get("exclusiveMinimum")) >= -MAX_SAFE_INTEGER
            assert node.get("maximum", node.get("exclusiveMaximum")) <= MAX_SAFE_INTEGER


@pytest.mark.parametrize("operation", sorted(VALID))
def test_a_payload_survives_the_struct_round_trip(operation: str) -> None:
    """As the gateway receives it: a Struct, where every number is a double."""
    spec = PLUGIN.metadata.operation(operation)
    assert spec is not None
    parsed = spec.payload_model.model_validate(through_struct(VALID[operation]))
    assert parsed == spec.payload_model.model_validate(VALID[operation])


@pytest.mark.parametrize("currency", ["USD", "us", "usdd", "u$d", "usd ", "", "ريال"])
def test_currency_rule_refuses_bad_codes(currency: str) -> None:
    with pytest.raises(ValidationError):
        CreatePaymentIntent.model_validate({"amount": 100, "currency": currency})


@pytest.mark.parametrize("amount", [0, -1, 100_000_000, MAX_SAFE_INTEGER, 2**53, 1.5, "100", True])
def test_amount_rule_refuses_bad_amounts(amount: Any) -> None:
    with pytest.raises(ValidationError):
        CreatePaymentIntent.model_validate({"amount": amount, "currency": "usd"})
    with pytest.raises(ValidationError):
        CreateRefund.model_validate({"payment_intent": PI, "amount": amount})


def test_amount_rule_accepts_minor_units_up_to_the_ceiling() -> None:
    for amount in (1, 2000, 2000.0, MAX_AMOUNT):
        parsed = CreatePaymentIntent.model_validate({"amount": amount, "currency": "usd"})
        assert parsed.amount == int(amount)
        assert isinstance(parsed.amount, int)
