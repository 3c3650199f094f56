"""The declared connectors whose adapters are not built yet: contracts, payload models and the
stand-in adapter."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pydantic import BaseModel, ValidationError

from adapters.plugins import PLUGINS
from adapters.salesforce import operations as salesforce
from adapters.stripe import operations as stripe
from gateway.canonical import sha256_hex
from gateway.contract import (
    Adapter,
    AttemptContext,
    ConnectorMetadata,
    DataClassification,
    Idempotency,
    OperationSpec,
    PolicyClass,
)
from gateway.errors import NotConfigured
from gateway.unconfigured import UnconfiguredAdapter

# The connectors declared before their adapters: no account, served by the stand-in.
DECLARED = tuple(plugin.metadata for plugin in PLUGINS if plugin.build is None)
MAX_SAFE_INTEGER = 2**53 - 1
PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"

# One valid payload per operation; every top-level integer field is present.
VALID: dict[tuple[str, str], dict[str, Any]] = {
    ("salesforce", "create_record"): {
        "record": {"sobject": "Lead", "LastName": "Doe", "Company": "Acme Ltd"}
    },
    ("salesforce", "update_record"): {
        "record_id": "0065g000001AbCdAAA",
        "record": {
            "sobject": "Opportunity",
            "StageName": "Closed Won",
            "Amount": 12000.5,
            "Probability": 100,
            "CloseDate": "2025-12-31",
        },
    },
    ("salesforce", "upsert_by_external_id"): {
        "external_id_field": "Customer_Number__c",
        "external_id": "C-1001",
        "record": {"sobject": "Contact", "LastName": "Doe", "Email": "jane@example.com"},
    },
    ("salesforce", "get_record"): {
        "sobject": "Contact",
        "record_id": "0035g000001AbCd",
        "fields": ["Id", "Email"],
    },
    ("stripe", "create_payment_intent"): {
        "amount": 2000,
        "currency": "sar",
        "customer": "cus_NffrFeUfNV2Hib",
        "payment_method": "pm_card_visa",
        "description": "Order 1001",
        "receipt_email": "buyer@example.com",
        "metadata": {"order_id": "1001"},
    },
    ("stripe", "cancel_payment_intent"): {
        "payment_intent": PI,
        "cancellation_reason": "requested_by_customer",
    },
    ("stripe", "create_refund"): {"payment_intent": PI, "amount": 500, "reason": "duplicate"},
    ("stripe", "get_payment_intent"): {"payment_intent": PI},
}

# connector -> operation -> (policy class, idempotency, compensation)
EXPECTED: dict[str, dict[str, tuple[PolicyClass, Idempotency, str | None]]] = {
    "salesforce": {
        "create_record": (PolicyClass.B, Idempotency.GATEWAY, None),
        "update_record": (PolicyClass.B, Idempotency.GATEWAY, None),
        "get_record": (PolicyClass.A, Idempotency.NONE, None),
        "upsert_by_external_id": (PolicyClass.B, Idempotency.GATEWAY, None),
    },
    "stripe": {
        "create_payment_intent": (PolicyClass.B, Idempotency.NATIVE, "cancel_payment_intent"),
        "cancel_payment_intent": (PolicyClass.B, Idempotency.NATIVE, None),
        "create_refund": (PolicyClass.B, Idempotency.NATIVE, None),
        "get_payment_intent": (PolicyClass.A, Idempotency.NONE, None),
    },
}

BY_KEY = {meta.key: meta for meta in DECLARED}
OPERATIONS = [(meta, op) for meta in DECLARED for op in meta.operations]
OPERATION_IDS = [f"{meta.key}.{op.name}" for meta, op in OPERATIONS]


def _model(connector: str, operation: str) -> type[BaseModel]:
    op = BY_KEY[connector].operation(operation)
    assert op is not None
    return op.payload_model


def _valid(connector: str, operation: str) -> dict[str, Any]:
    return copy.deepcopy(VALID[(connector, operation)])


def _refused(model: type[BaseModel], payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(payload)


def _schema_nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schema_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_nodes(value)


def _top_level_integers(schema: dict[str, Any]) -> list[str]:
    names = []
    for name, prop in schema.get("properties", {}).items():
        if any(v.get("type") == "integer" for v in prop.get("anyOf", [prop])):
            names.append(name)
    return names


# --- the descriptors ---------------------------------------------------------------------------


def test_the_connectors_declared_without_an_adapter_ordered_by_key() -> None:
    keys = [meta.key for meta in DECLARED]
    assert keys == ["salesforce", "stripe"]


@pytest.mark.parametrize("meta", DECLARED, ids=lambda m: m.key)
def test_every_descriptor_passes_validate(meta: ConnectorMetadata) -> None:
    meta.validate()


@pytest.mark.parametrize("meta", DECLARED, ids=lambda m: m.key)
def test_arabic_display_names_are_in_arabic_script(meta: ConnectorMetadata) -> None:
    letters = [ch for ch in meta.display_name_ar if ch not in " ()"]
    assert letters
    assert all("\u0600" <= ch <= "\u06ff" for ch in letters), meta.display_name_ar
    assert meta.display_name.strip()


def test_display_names() -> None:
    names = {meta.key: (meta.display_name, meta.display_name_ar) for meta in DECLARED}
    assert names == {
        "salesforce": ("Salesforce CRM", "سيلزفورس"),
        "stripe": ("Stripe Payments", "سترايب للمدفوعات"),
    }


def test_operations_policy_idempotency_and_compensation() -> None:
    actual = {
        meta.key: {
            op.name: (op.policy_class, op.idempotency, op.compensation) for op in meta.operations
        }
        for meta in DECLARED
    }
    assert actual == EXPECTED


@pytest.mark.parametrize(("meta", "op"), OPERATIONS, ids=OPERATION_IDS)
def test_reads_and_writes_follow_the_standard(meta: ConnectorMetadata, op: OperationSpec) -> None:
    if op.read_only:
        assert op.policy_class is PolicyClass.A
        assert op.idempotency is Idempotency.NONE
        assert op.compensation is None
    else:
        assert op.policy_class is PolicyClass.B
        expected = Idempotency.NATIVE if meta.key == "stripe" else Idempotency.GATEWAY
        assert op.idempotency is expected
    if op.compensation is not None:
        undo = meta.operation(op.compensation)
        assert undo is not None
        assert not undo.read_only
    assert op.success_event != op.failure_event


def test_connector_settings() -> None:
    assert BY_KEY["stripe"].idempotency is Idempotency.NATIVE
    assert BY_KEY["stripe"].data_classification is DataClassification.RESTRICTED
    for meta in DECLARED:
        assert meta.contract_url.startswith("https://")
        assert 0 < meta.timeout_ms <= 30_000
        if meta.key != "stripe":
            assert meta.idempotency is Idempotency.GATEWAY
            assert meta.data_classification is DataClassification.CONFIDENTIAL


def test_audit_events() -> None:
    salesforce_events = set(BY_KEY["salesforce"].audit_event_types)
    assert {"record_created", "record_updated", "record_write_failed"} <= salesforce_events
    assert {"payment_created", "payment_failed", "refund_created"} <= set(
        BY_KEY["stripe"].audit_event_types
    )


# --- every payload model -----------------------------------------------------------------------


def test_every_operation_has_a_valid_example() -> None:
    assert set(VALID) == {(meta.key, op.name) for meta, op in OPERATIONS}


@pytest.mark.parametrize(("meta", "op"), OPERATIONS, ids=OPERATION_IDS)
def test_payload_model_schema_and_valid_example(meta: ConnectorMetadata, op: OperationSpec) -> None:
    schema = op.payload_model.model_json_schema()
    assert schema["type"] == "object"
    for node in _schema_nodes(schema):
        if "properties" in node:  # every model, nested ones included, refuses unknown fields
            assert node.get("additionalProperties") is False, node.get("title")
            for prop in node["properties"].values():
                assert prop.get("description"), (node.get("title"), prop.get("title"))
        if node.get("type") == "integer":  # and every integer stays within +-(2^53 - 1)
            low = node.get("minimum", node.get("exclusiveMinimum"))
            high = node.get("maximum", node.get("exclusiveMaximum"))
            assert low is not None, node
            assert high is not None, node
            assert low >= -MAX_SAFE_INTEGER, node
            assert high <= MAX_SAFE_INTEGER, node
    op.payload_model.model_validate(VALID[(meta.key, op.name)])


@pytest.mark.parametrize(("meta", "op"), OPERATIONS, ids=OPERATION_IDS)
def test_payload_survives_the_struct_round_trip(meta: ConnectorMetadata, op: OperationSpec) -> None:
    """As the gateway receives it: a Struct, where every number is a double."""
    struct = struct_pb2.Struct()
    json_format.ParseDict(VALID[(meta.key, op.name)], struct)
    payload = op.payload_model.model_validate(json_format.MessageToDict(struct))
    assert payload == op.payload_model.model_validate(VALID[(meta.key, op.name)])
    sha256_hex(payload.model_dump(mode="json", exclude_defaults=True))


@pytest.mark.parametrize(("meta", "op"), OPERATIONS, ids=OPERATION_IDS)
def test_unknown_fields_are_refused(meta: ConnectorMetadata, op: OperationSpec) -> None:
    payload = _valid(meta.key, op.name)
    payload["unexpected"] = "x"
    _refused(op.payload_model, payload)


@pytest.mark.parametrize(("meta", "op"), OPERATIONS, ids=OPERATION_IDS)
def test_integer_fields_take_only_integral_numbers(
    meta: ConnectorMetadata, op: OperationSpec
) -> None:
    for name in _top_level_integers(op.payload_model.model_json_schema()):
        payload = _valid(meta.key, op.name)
        assert name in payload, f"give {name} a value in VALID"
        whole = payload[name]
        for bad in (whole + 0.5, str(whole), True):
            payload[name] = bad
            _refused(op.payload_model, payload)
        payload[name] = float(whole)  # a Struct number
        assert getattr(op.payload_model.model_validate(payload), name) == whole


def test_operations_with_integer_fields() -> None:
    with_integers = {
        f"{meta.key}.{op.name}"
        for meta, op in OPERATIONS
        if _top_level_integers(op.payload_model.model_json_schema())
    }
    assert with_integers == {
        "stripe.create_payment_intent",
        "stripe.create_refund",
    }


def test_a_nested_unknown_field_is_refused() -> None:
    nested = _valid("salesforce", "create_record")
    nested["record"]["Industry"] = "Retail"
    _refused(_model("salesforce", "create_record"), nested)


# --- the vendor rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record_id",
    [
        "0035g000001AbC",  # 14
        "0035g000001AbCdA",  # 16
        "0035g000001AbCdAA",  # 17
        "0035g000001AbCdAAAA",  # 19
        "0035g000001-bCdAAA",
        "0035g000001AbC٣",
        "",
    ],
)
def test_salesforce_id_rule_refuses_bad_ids(record_id: str) -> None:
    _refused(
        _model("salesforce", "get_record"),
        _valid("salesforce", "get_record") | {"record_id": record_id},
    )
    payload = _valid("salesforce", "update_record")
    payload["record_id"] = record_id
    _refused(_model("salesforce", "update_record"), payload)
    contact = {"record": {"sobject": "Contact", "LastName": "Doe", "AccountId": record_id}}
    _refused(salesforce.CreateRecord, contact)


def test_salesforce_id_rule_accepts_15_and_18_characters() -> None:
    for record_id in ("0035g000001AbCd", "0035g000001AbCdAAA"):
        salesforce.GetRecord.model_validate({"sobject": "Lead", "record_id": record_id})


def test_salesforce_objects_and_required_fields() -> None:
    _refused(salesforce.GetRecord, {"sobject": "Account", "record_id": "0015g000001AbCd"})
    _refused(salesforce.CreateRecord, {"record": {"sobject": "Lead", "LastName": "Doe"}})
    _refused(salesforce.CreateRecord, {"record": {"sobject": "Contact", "Company": "Acme"}})
    _refused(
        salesforce.CreateRecord,
        {"record": {"sobject": "Opportunity", "Name": "Deal", "StageName": "Prospecting"}},
    )
    bad_date = _valid("salesforce", "update_record")
    bad_date["record"]["CloseDate"] = "2025-02-30"
    _refused(salesforce.UpdateRecord, bad_date)
    nothing = {"record_id": "0035g000001AbCd", "record": {"sobject": "Contact"}}
    _refused(salesforce.UpdateRecord, nothing)


def test_salesforce_fields_may_be_omitted_but_not_null() -> None:
    """Salesforce reads null as "clear the field"; the approval digest would drop it."""
    clear = {"record_id": "0035g000001AbCd", "record": {"sobject": "Contact", "Email": None}}
    with pytest.raises(ValidationError, match="null is not accepted"):
        salesforce.UpdateRecord.model_validate(clear)
    schema = salesforce.UpdateRecord.model_json_schema()
    for name in ("LeadFields", "ContactFields", "OpportunityFields"):
        for prop in schema["$defs"][name]["properties"].values():
            assert "anyOf" not in prop
            assert prop.get("type") != "null"


@pytest.mark.parametrize("currency", ["USD", "us", "usdd", "u$d", "usd ", "", "ريال"])
def test_currency_rule_refuses_bad_codes(currency: str) -> None:
    _refused(stripe.CreatePaymentIntent, {"amount": 100, "currency": currency})


def test_currency_rule_accepts_lowercase_iso_codes() -> None:
    for currency in ("usd", "sar", "jpy"):
        stripe.CreatePaymentIntent.model_validate({"amount": 100, "currency": currency})


@pytest.mark.parametrize("amount", [0, -1, 100_000_000, MAX_SAFE_INTEGER, 2**53, 1.5, "100", True])
def test_amount_rule_refuses_bad_amounts(amount: Any) -> None:
    _refused(stripe.CreatePaymentIntent, {"amount": amount, "currency": "usd"})
    _refused(stripe.CreateRefund, {"payment_intent": PI, "amount": amount})


def test_amount_rule_accepts_minor_units_up_to_the_ceiling() -> None:
    for amount in (1, 2000, 2000.0, stripe.MAX_AMOUNT):
        parsed = stripe.CreatePaymentIntent.model_validate({"amount": amount, "currency": "usd"})
        assert parsed.amount == int(amount)
        assert isinstance(parsed.amount, int)


def test_stripe_ids_are_checked() -> None:
    _refused(stripe.GetPaymentIntent, {"payment_intent": "ch_3MtwBwLkdIwHu7ix"})
    _refused(stripe.GetPaymentIntent, {"payment_intent": PI + "_secret_abc"})
    _refused(stripe.CreatePaymentIntent, {"amount": 1, "currency": "usd", "confirm": True})


# --- the stand-in adapter ----------------------------------------------------------------------


def _ctx() -> AttemptContext:
    return AttemptContext(
        tenant="t1", execution_id="e1", idempotency_key="k1", attempt=1, timeout_s=5.0
    )


@pytest.mark.parametrize("meta", DECLARED, ids=lambda m: m.key)
async def test_unconfigured_adapter_refuses_to_act(meta: ConnectorMetadata) -> None:
    adapter = UnconfiguredAdapter(meta)
    assert isinstance(adapter, Adapter)
    assert adapter.metadata is meta
    assert adapter.configured is False
    await adapter.initialize()
    op = meta.operations[0]
    payload = op.payload_model.model_validate(VALID[(meta.key, op.name)])
    with pytest.raises(NotConfigured, match="not available in this version of the gateway") as err:
        await adapter.execute(op.name, payload, _ctx())
    assert meta.key in err.value.message
    assert err.value.metadata == {"connector_key": meta.key, "operation": op.name}
    with pytest.raises(NotConfigured, match="not available in this version of the gateway"):
        await adapter.compensate(op.name, {"id": "x"}, _ctx())
    probe = await adapter.health_check()
    assert probe.ok is False
    assert probe.detail == "not configured"
    await adapter.shutdown()
