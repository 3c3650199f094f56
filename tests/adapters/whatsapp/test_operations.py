"""The WhatsApp connector's contract and payload models: what an agent may send, refused
before WhatsApp is called when it breaks a rule, and the message JSON built from it."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.whatsapp import PLUGIN
from adapters.whatsapp.messages import template_message, text_message
from adapters.whatsapp.operations import MessageSent, SendTemplate, SendText
from gateway.contract import DataClassification, Idempotency, PolicyClass
from tests.support.payload_examples import Examples, schema_nodes, through_struct

METADATA = PLUGIN.metadata
MAX_SAFE_INTEGER = 2**53 - 1

VALID: dict[str, dict[str, Any]] = {
    "send_text": {
        "to": "+966501234567",
        "text": {"body": "Your order has shipped.", "preview_url": False},
        "context": {"message_id": "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww"},
    },
    "send_template": {
        "to": "+966501234567",
        "template": {
            "name": "order_confirmation",
            "language": {"code": "ar"},
            "components": [
                {
                    "type": "header",
                    "parameters": [
                        {"type": "document", "document": {"link": "https://example.com/i.pdf"}}
                    ],
                },
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Sara"},
                        {
                            "type": "currency",
                            "currency": {
                                "fallback_value": "SAR 100.99",
                                "code": "SAR",
                                "amount_1000": 100990,
                            },
                        },
                        {"type": "date_time", "date_time": {"fallback_value": "5 September"}},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "0",
                    "parameters": [{"type": "payload", "payload": "TRACK_ORDER"}],
                },
            ],
        },
    },
}


EXAMPLES = Examples(METADATA, VALID)
model, valid, refused = EXAMPLES.model, EXAMPLES.valid, EXAMPLES.refused


def test_the_contract() -> None:
    METADATA.validate()
    assert (METADATA.version, METADATA.display_name, METADATA.display_name_ar) == (
        "1.0.0",
        "WhatsApp Business API",
        "واتساب بيزنس",
    )
    assert {
        op.name: (op.policy_class, op.idempotency, op.compensation, op.result_model)
        for op in METADATA.operations
    } == {
        "send_template": (PolicyClass.B, Idempotency.GATEWAY, None, MessageSent),
        "send_text": (PolicyClass.B, Idempotency.GATEWAY, None, MessageSent),
    }
    assert METADATA.idempotency is Idempotency.GATEWAY  # Meta takes no idempotency key
    assert METADATA.data_classification is DataClassification.CONFIDENTIAL
    assert set(METADATA.audit_event_types) == {"message_sent", "message_failed"}
    assert METADATA.contract_url == (
        "https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages"
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
    # The adapter sets these itself; an agent cannot.
    refused(operation, valid(operation) | {"messaging_product": "whatsapp"})
    refused(operation, valid(operation) | {"type": "image"})


def test_a_nested_integer_and_a_nested_unknown_field_are_refused() -> None:
    payload = valid("send_template")
    currency = payload["template"]["components"][1]["parameters"][1]["currency"]
    for bad in (100990.5, 2**31, "100990", True):
        currency["amount_1000"] = bad
        refused("send_template", payload)
    currency["amount_1000"] = 100990.0  # a Struct number
    model("send_template").model_validate(payload)
    payload["template"]["language"]["script"] = "Arab"
    refused("send_template", payload)


BAD_PHONES = [
    "966501234567",  # no +
    "+0501234567",  # country code cannot start with 0
    "+966 50 123 4567",
    "+1234567890123456",  # 16 digits
    "+٩٦٦٥٠١٢٣٤٥٦٧",  # Arabic-Indic digits
    "+966501234567\n",
]


@pytest.mark.parametrize("phone", BAD_PHONES)
@pytest.mark.parametrize("operation", sorted(VALID))
def test_recipients_must_be_e164(operation: str, phone: str) -> None:
    refused(operation, valid(operation) | {"to": phone})


def test_text_rules() -> None:
    refused("send_text", {"to": "+966501234567", "text": {"body": ""}})
    refused("send_text", {"to": "+966501234567", "text": {"body": "x" * 4097}})
    refused("send_text", {"to": "+966501234567", "text": {"body": "hi", "preview_url": "yes"}})
    refused("send_text", {"to": "+966501234567"})


def test_template_rules() -> None:
    for name in ("Order", "order-confirmation", "", "x" * 513):
        payload = valid("send_template")
        payload["template"]["name"] = name
        refused("send_template", payload)
    for code in ("Arabic", "en-US", "EN"):
        payload = valid("send_template")
        payload["template"]["language"]["code"] = code
        refused("send_template", payload)
    both = valid("send_template")
    both["template"]["components"][0]["parameters"][0]["document"] = {
        "id": "123",
        "link": "https://example.com/i.pdf",
    }
    assert "exactly one of id and link" in refused("send_template", both)
    line_break = valid("send_template")
    line_break["template"]["components"][1]["parameters"][0]["text"] = "Sara\nAli"
    refused("send_template", line_break)


def test_the_message_json_graph_takes() -> None:
    text = text_message(SendText.model_validate({"to": "+14155550123", "text": {"body": "hi"}}))
    assert text == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+14155550123",
        "type": "text",
        "text": {"body": "hi", "preview_url": False},
    }
    template = template_message(SendTemplate.model_validate(VALID["send_template"]))
    assert template["type"] == "template"
    assert template["template"]["language"] == {"code": "ar", "policy": "deterministic"}
    header = template["template"]["components"][0]["parameters"][0]
    assert header == {"type": "document", "document": {"link": "https://example.com/i.pdf"}}
