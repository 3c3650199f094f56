"""The Salesforce contract: operations, policy, undo, and payload models that refuse what
Salesforce cannot take (or what the gateway must not send) before any call is admitted."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from adapters.salesforce import PLUGIN
from adapters.salesforce.metadata import METADATA
from adapters.salesforce.operations import (
    CreateRecord,
    DeleteRecord,
    GetRecord,
    RestoreRecord,
    UpdatedRecord,
    UpdateRecord,
    UpsertByExternalId,
    UpsertedRecord,
)
from gateway.canonical import sha256_hex
from gateway.contract import DataClassification, Idempotency, PolicyClass
from tests.support.payload_examples import Examples, schema_nodes, through_struct

MAX_SAFE_INTEGER = 2**53 - 1

VALID: dict[str, dict[str, Any]] = {
    "get_record": {"sobject": "Contact", "record_id": "0035g000001AbCd", "fields": ["Id", "Email"]},
    "query": {
        "sobject": "Opportunity",
        "fields": ["Id", "Name", "Account.Name"],
        "where": [
            {"field": "StageName", "op": "=", "string": "Prospecting"},
            {"field": "Amount", "op": ">=", "number": 1000},
            {"field": "IsClosed", "op": "=", "boolean": False},
            {"field": "CloseDate", "op": "<", "date": "2026-01-01"},
            {"field": "CreatedDate", "op": ">", "datetime": "2025-01-01T00:00:00Z"},
        ],
        "order_by": [{"field": "CloseDate", "direction": "desc"}],
        "limit": 50,
    },
    "create_record": {
        "record": {
            "sobject": "Account",
            "Name": "Acme Ltd",
            "NumberOfEmployees": 250,
            "AnnualRevenue": 1.5e6,
            "BillingStreet": "1 Main St\nSuite 2",
        }
    },
    "update_record": {
        "record_id": "0065g000001AbCdAAA",
        "record": {
            "sobject": "Opportunity",
            "StageName": "Closed Won",
            "Amount": 12000.5,
            "Probability": 100,
            "CloseDate": "2025-12-31",
        },
    },
    "upsert_by_external_id": {
        "external_id": "C-1001",
        "record": {"sobject": "Contact", "LastName": "Doe", "Email": "jane@example.com"},
    },
    "delete_record": {"sobject": "Lead", "record_id": "00Q5g000001AbCdAAA"},
    "restore_record": {
        "sobject": "Contact",
        "record_id": "0035g000001AbCdAAA",
        "values": {"Title": "CTO", "MobilePhone": None},
    },
}
OPERATIONS = [op.name for op in METADATA.operations]


EXAMPLES = Examples(METADATA, VALID)
_valid, _model = EXAMPLES.valid, EXAMPLES.model


def _refused(model: type[BaseModel], payload: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    return caught.value


# --- the contract ----------------------------------------------------------------------------


def test_the_connector_is_built_and_its_contract_passes_the_standard() -> None:
    METADATA.validate()
    assert PLUGIN.build is not None
    assert (METADATA.version, METADATA.display_name, METADATA.display_name_ar) == (
        "1.0.0",
        "Salesforce CRM",
        "سيلزفورس",
    )
    assert METADATA.idempotency is Idempotency.GATEWAY
    assert METADATA.data_classification is DataClassification.CONFIDENTIAL


def test_operations_policy_idempotency_and_undo() -> None:
    declared = {
        op.name: (op.policy_class, op.idempotency, op.compensation) for op in METADATA.operations
    }
    assert declared == {
        "get_record": (PolicyClass.A, Idempotency.NONE, None),
        "query": (PolicyClass.A, Idempotency.NONE, None),
        "create_record": (PolicyClass.B, Idempotency.GATEWAY, "delete_record"),
        "update_record": (PolicyClass.B, Idempotency.GATEWAY, "restore_record"),
        "upsert_by_external_id": (PolicyClass.B, Idempotency.GATEWAY, "restore_record"),
        "delete_record": (PolicyClass.B, Idempotency.GATEWAY, None),
        "restore_record": (PolicyClass.B, Idempotency.GATEWAY, None),
    }
    for op in METADATA.operations:
        assert op.read_only is (op.policy_class is PolicyClass.A)
        assert op.success_event != op.failure_event


def test_the_results_hold_what_each_undo_needs() -> None:
    UpdatedRecord.model_validate({"sobject": "Lead", "id": "00Q5g000001AbCd", "previous": {}})
    UpsertedRecord.model_validate({"sobject": "Lead", "id": "00Q5g000001AbCd", "created": True})
    with pytest.raises(ValidationError, match="keeps the values it replaced"):
        UpsertedRecord.model_validate(
            {"sobject": "Lead", "id": "00Q5g000001AbCd", "created": False, "previous": None}
        )
    with pytest.raises(ValidationError):
        UpdatedRecord.model_validate({"sobject": "Lead", "id": "00Q5g000001AbCd"})


# --- every payload model ----------------------------------------------------------------------


def test_every_operation_has_a_valid_example() -> None:
    assert set(VALID) == set(OPERATIONS)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_payload_model_schema_and_valid_example(operation: str) -> None:
    model = _model(operation)
    schema = model.model_json_schema()
    assert schema["type"] == "object"
    for node in schema_nodes(schema):
        if "properties" in node:  # every model, nested ones included, refuses unknown fields
            assert node.get("additionalProperties") is False, node.get("title")
            for prop in node["properties"].values():
                assert prop.get("description"), (node.get("title"), prop.get("title"))
                assert prop.get("type") != "null"
        if node.get("type") == "integer":
            assert node["minimum"] >= -MAX_SAFE_INTEGER, node
            assert node["maximum"] <= MAX_SAFE_INTEGER, node
    model.model_validate(VALID[operation])


@pytest.mark.parametrize("operation", OPERATIONS)
def test_payload_survives_the_struct_round_trip(operation: str) -> None:
    """As the gateway receives it: a Struct, where every number is a double."""
    model = _model(operation)
    payload = model.model_validate(through_struct(VALID[operation]))
    assert payload == model.model_validate(VALID[operation])
    sha256_hex(payload.model_dump(mode="json", exclude_defaults=True))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_unknown_fields_are_refused(operation: str) -> None:
    payload = _valid(operation)
    payload["unexpected"] = "x"
    _refused(_model(operation), payload)


def test_an_unknown_field_of_a_record_is_refused() -> None:
    for sobject, extra in (("Lead", "Industry"), ("Contact", "Company"), ("Account", "Email")):
        payload = _valid("update_record")
        payload["record"] = {"sobject": sobject, extra: "x"}
        _refused(UpdateRecord, payload)


# --- the vendor's rules ------------------------------------------------------------------------


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
    _refused(GetRecord, _valid("get_record") | {"record_id": record_id})
    _refused(DeleteRecord, _valid("delete_record") | {"record_id": record_id})
    _refused(RestoreRecord, _valid("restore_record") | {"record_id": record_id})
    payload = _valid("update_record")
    payload["record_id"] = record_id
    _refused(UpdateRecord, payload)
    contact = {"record": {"sobject": "Contact", "LastName": "Doe", "AccountId": record_id}}
    _refused(CreateRecord, contact)


def test_salesforce_id_rule_accepts_15_and_18_characters() -> None:
    for record_id in ("0035g000001AbCd", "0035g000001AbCdAAA"):
        GetRecord.model_validate({"sobject": "Lead", "record_id": record_id})


def test_objects_and_required_fields() -> None:
    GetRecord.model_validate({"sobject": "Account", "record_id": "0015g000001AbCd"})
    _refused(GetRecord, {"sobject": "User", "record_id": "0055g000001AbCd"})
    _refused(CreateRecord, {"record": {"sobject": "Lead", "LastName": "Doe"}})
    _refused(CreateRecord, {"record": {"sobject": "Contact", "Company": "Acme"}})
    _refused(CreateRecord, {"record": {"sobject": "Account", "Website": "example.com"}})
    _refused(
        CreateRecord,
        {"record": {"sobject": "Opportunity", "Name": "Deal", "StageName": "Prospecting"}},
    )
    bad_date = _valid("update_record")
    bad_date["record"]["CloseDate"] = "2025-02-30"
    _refused(UpdateRecord, bad_date)
    nothing = {"record_id": "0035g000001AbCd", "record": {"sobject": "Contact"}}
    _refused(UpdateRecord, nothing)


def test_whole_numbers_stay_whole() -> None:
    for employees in (250.5, "250", True, -1, 100_000_000):
        payload = _valid("create_record")
        payload["record"]["NumberOfEmployees"] = employees
        _refused(CreateRecord, payload)
    accepted = CreateRecord.model_validate(_valid("create_record"))
    assert accepted.record.values()["NumberOfEmployees"] == 250


def test_fields_may_be_omitted_but_not_null() -> None:
    """Salesforce reads null as "clear the field"; the approval digest would drop it."""
    clear = {"record_id": "0035g000001AbCd", "record": {"sobject": "Contact", "Email": None}}
    with pytest.raises(ValidationError, match="null is not accepted"):
        UpdateRecord.model_validate(clear)
    schema = UpdateRecord.model_json_schema()
    for name in ("AccountFields", "LeadFields", "ContactFields", "OpportunityFields"):
        for prop in schema["$defs"][name]["properties"].values():
            assert "anyOf" not in prop
            assert prop.get("type") != "null"


def test_an_upsert_names_its_value_and_the_account_names_the_field() -> None:
    without = _valid("upsert_by_external_id")
    del without["external_id"]
    error = _refused(UpsertByExternalId, without)
    assert error.errors()[0]["loc"] == ("external_id",)
    # The field is the account's to name, never the agent's.
    _refused(
        UpsertByExternalId,
        _valid("upsert_by_external_id") | {"external_id_field": "Customer_Number__c"},
    )


@pytest.mark.parametrize("value", ["a/b", ".", "..", "", "C-1\n", "x" * 256])
def test_an_external_id_that_cannot_be_one_path_segment_is_refused(value: str) -> None:
    _refused(UpsertByExternalId, _valid("upsert_by_external_id") | {"external_id": value})


def test_an_external_id_may_hold_what_a_url_path_encodes() -> None:
    for value in ("C 1001", "jane+1@example.com", "50%", "a?b#c", "...", "ü-1"):
        UpsertByExternalId.model_validate(_valid("upsert_by_external_id") | {"external_id": value})


def test_restore_writes_only_the_types_fields_and_may_empty_them() -> None:
    restored = RestoreRecord.model_validate(_valid("restore_record"))
    assert restored.values == {"Title": "CTO", "MobilePhone": None}
    for values in ({"Company": "Acme"}, {"Id": "0035g000001AbCd"}, {}, {"Title": {"a": 1}}):
        with pytest.raises(ValidationError):
            RestoreRecord.model_validate(_valid("restore_record") | {"values": values})
