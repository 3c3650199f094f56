"""The voice connector's contract and payload models: what an agent may send, refused before
Twilio is called when it breaks a rule."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.voice import PLUGIN
from adapters.voice.operations import CallPlaced, CallState, CancelCall
from gateway.contract import DataClassification, Idempotency, PolicyClass
from tests.support.payload_examples import Examples, schema_nodes, through_struct

METADATA = PLUGIN.metadata
CALL_SID = "CA" + "0123456789abcdef" * 2
MAX_SAFE_INTEGER = 2**53 - 1

VALID: dict[str, dict[str, Any]] = {
    "place_call": {
        "To": "+14155550123",
        "From": "+14155550100",
        "Twiml": "<Response><Say>Your appointment is tomorrow.</Say></Response>",
        "StatusCallback": "https://example.com/calls/status",
        "StatusCallbackEvent": ["initiated", "answered", "completed"],
        "Timeout": 30,
        "TimeLimit": 600,
        "Record": False,
    },
    "cancel_call": {"CallSid": CALL_SID, "Status": "completed"},
    "get_call": {"CallSid": CALL_SID},
}


EXAMPLES = Examples(METADATA, VALID)
model, valid, refused = EXAMPLES.model, EXAMPLES.valid, EXAMPLES.refused


def test_the_contract() -> None:
    METADATA.validate()
    assert (METADATA.version, METADATA.display_name, METADATA.display_name_ar) == (
        "1.0.0",
        "Twilio Voice",
        "تويليو للمكالمات الصوتية",
    )
    assert {
        op.name: (op.policy_class, op.idempotency, op.compensation, op.result_model)
        for op in METADATA.operations
    } == {
        "get_call": (PolicyClass.A, Idempotency.NONE, None, CallState),
        "place_call": (PolicyClass.B, Idempotency.GATEWAY, "cancel_call", CallPlaced),
        "cancel_call": (PolicyClass.B, Idempotency.GATEWAY, None, CallState),
    }
    assert METADATA.idempotency is Idempotency.GATEWAY  # Twilio takes no idempotency key
    assert METADATA.data_classification is DataClassification.CONFIDENTIAL
    assert {"call_placed", "call_failed", "call_canceled", "call_read"} <= set(
        METADATA.audit_event_types
    )


@pytest.mark.parametrize("operation", sorted(VALID))
def test_every_field_is_described_closed_and_bounded(operation: str) -> None:
    for node in schema_nodes(model(operation).model_json_schema()):
        if "properties" in node:
            assert node.get("additionalProperties") is False
            for prop in node["properties"].values():
                assert prop.get("description"), (operation, prop)
        if node.get("type") == "integer":
            assert -MAX_SAFE_INTEGER <= node["minimum"] <= node["maximum"] <= MAX_SAFE_INTEGER


@pytest.mark.parametrize("operation", sorted(VALID))
def test_every_example_survives_the_struct_round_trip(operation: str) -> None:
    from_struct = model(operation).model_validate(through_struct(VALID[operation]))
    assert from_struct == model(operation).model_validate(VALID[operation])


@pytest.mark.parametrize("operation", sorted(VALID))
def test_unknown_fields_are_refused(operation: str) -> None:
    assert "Extra inputs are not permitted" in refused(operation, valid(operation) | {"x": 1})
    # Twilio's names are case-sensitive: a lowercase "to" is not "To".
    assert "Extra inputs" in refused(operation, valid(operation) | {"to": "+14155550123"})


@pytest.mark.parametrize("field", ["Timeout", "TimeLimit"])
def test_integer_fields_take_only_integral_numbers(field: str) -> None:
    for bad in (30.5, "30", True, 0):
        refused("place_call", valid("place_call") | {field: bad})
    parsed = model("place_call").model_validate(valid("place_call") | {field: 30.0})
    assert getattr(parsed, field) == 30
    refused("place_call", valid("place_call") | {"Timeout": 601})


BAD_PHONES = [
    "14155550123",  # no +
    "+0123456789",  # country code cannot start with 0
    "+1 415 555 0123",
    "+1-415-555-0123",
    "+1234567890123456",  # 16 digits
    "+1",
    "+1٤١٥٥٥٥٠١٢٣",  # Arabic-Indic digits
    "+14155550123\n",
]


@pytest.mark.parametrize("phone", BAD_PHONES)
@pytest.mark.parametrize("field", ["To", "From"])
def test_numbers_must_be_e164(field: str, phone: str) -> None:
    refused("place_call", valid("place_call") | {field: phone})


def test_e164_numbers_are_accepted() -> None:
    for phone in ("+966501234567", "+123456789012345", "+44"):
        model("place_call").model_validate(valid("place_call") | {"To": phone})


def test_exactly_one_of_twiml_and_url() -> None:
    call = valid("place_call")
    assert "exactly one of Twiml and Url" in refused(
        "place_call", call | {"Url": "https://example.com/twiml"}
    )
    del call["Twiml"]
    assert "exactly one of Twiml and Url" in refused("place_call", call)
    model("place_call").model_validate(call | {"Url": "https://example.com/twiml"})
    refused("place_call", call | {"Url": "http://example.com/twiml"})
    refused("place_call", valid("place_call") | {"Twiml": "x" * 4001})


def test_status_callback_events() -> None:
    no_callback = valid("place_call")
    del no_callback["StatusCallback"]
    assert "needs StatusCallback" in refused("place_call", no_callback)
    twice = valid("place_call") | {"StatusCallbackEvent": ["answered", "answered"]}
    assert "names an event twice" in refused("place_call", twice)
    refused("place_call", valid("place_call") | {"StatusCallbackEvent": []})
    refused("place_call", valid("place_call") | {"StatusCallbackEvent": ["busy"]})
    refused("place_call", valid("place_call") | {"StatusCallbackEvent": "answered"})


@pytest.mark.parametrize(
    "sid", ["CA123", "CA" + "g" * 32, "ca" + "0" * 32, "SM" + "0" * 32, CALL_SID + "0", ""]
)
def test_call_sids_are_checked(sid: str) -> None:
    refused("get_call", {"CallSid": sid})
    refused("cancel_call", {"CallSid": sid})


def test_cancel_call_takes_only_twilios_two_statuses() -> None:
    assert CancelCall.model_validate({"CallSid": CALL_SID}).Status == "canceled"
    refused("cancel_call", {"CallSid": CALL_SID, "Status": "busy"})
