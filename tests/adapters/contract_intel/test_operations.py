"""The contract_intel connector's contract and payload models: what an agent may send, refused
before DocuSign is called when it breaks a rule, and the envelope DocuSign receives when it
does not."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adapters.contract_intel import PLUGIN
from adapters.contract_intel.envelopes import envelope_definition
from adapters.contract_intel.operations import EnvelopeSent, SendEnvelope
from gateway.contract import DataClassification, Idempotency, PolicyClass
from tests.support.payload_examples import Examples, through_struct

from .support import MARKER

METADATA = PLUGIN.metadata
ENVELOPE_ID = "4b728be4-1c2d-4e5f-8a9b-d63e23f822b6"
TEMPLATE = {
    "emailSubject": "Sign",
    "templateId": ENVELOPE_ID,
    "templateRoles": [{"roleName": "Client", "name": "Sara", "email": "s@example.com"}],
}

# One valid payload per operation; every top-level integer field is present.
VALID: dict[str, dict[str, Any]] = {
    "send_envelope": {
        "emailSubject": "Please sign the NDA",
        "documents": [
            {"documentId": "1", "name": "NDA", "fileExtension": "pdf", "documentBase64": "JVBERi0x"}
        ],
        "recipients": {
            "signers": [
                {
                    "email": "signer@example.com",
                    "name": "Sara Ali",
                    "recipientId": "1",
                    "tabs": {"signHereTabs": [{"anchorString": "/sn1/"}]},
                }
            ],
            "carbonCopies": [{"email": "legal@example.com", "name": "Legal", "recipientId": "2"}],
        },
    },
    "void_envelope": {"envelopeId": ENVELOPE_ID, "voidedReason": "Sent twice"},
    "get_envelope": {"envelopeId": ENVELOPE_ID},
    "get_agreement": {"agreementId": ENVELOPE_ID},
    "list_agreements": {"limit": 25, "ctoken": "abc123", "title": "NDA", "status": "active"},
}


EXAMPLES = Examples(METADATA, VALID)
model, valid, refused = EXAMPLES.model, EXAMPLES.valid, EXAMPLES.refused


def test_the_contract() -> None:
    METADATA.validate()
    assert (METADATA.version, METADATA.display_name, METADATA.display_name_ar) == (
        "1.0.0",
        "Contract Intelligence (DocuSign)",
        "ذكاء العقود (دوكيوساين)",
    )
    assert {
        op.name: (op.policy_class, op.idempotency, op.compensation) for op in METADATA.operations
    } == {
        "get_agreement": (PolicyClass.A, Idempotency.NONE, None),
        "get_envelope": (PolicyClass.A, Idempotency.NONE, None),
        "list_agreements": (PolicyClass.A, Idempotency.NONE, None),
        "send_envelope": (PolicyClass.B, Idempotency.GATEWAY, "void_envelope"),
        "void_envelope": (PolicyClass.B, Idempotency.GATEWAY, None),
    }
    assert METADATA.data_classification is DataClassification.CONFIDENTIAL
    assert {"envelope_sent", "envelope_failed", "agreement_read"} <= set(METADATA.audit_event_types)


def test_every_operation_has_a_valid_example() -> None:
    assert set(VALID) == {op.name for op in METADATA.operations}


@pytest.mark.parametrize("operation", sorted(VALID))
def test_every_example_survives_the_struct_round_trip(operation: str) -> None:
    from_struct = model(operation).model_validate(through_struct(VALID[operation]))
    assert from_struct == model(operation).model_validate(VALID[operation])


@pytest.mark.parametrize("operation", sorted(VALID))
def test_unknown_fields_are_refused(operation: str) -> None:
    assert "Extra inputs are not permitted" in refused(operation, valid(operation) | {"x": 1})


@pytest.mark.parametrize("operation", sorted(VALID))
def test_every_field_is_described(operation: str) -> None:
    schema = model(operation).model_json_schema()
    for node in [schema, *schema.get("$defs", {}).values()]:
        assert node.get("additionalProperties") is False
        for prop in node["properties"].values():
            assert prop.get("description"), (operation, prop)


def test_the_page_size_takes_only_whole_numbers_in_range() -> None:
    for bad in (25.5, "25", True, 0, 101):
        refused("list_agreements", valid("list_agreements") | {"limit": bad})
    parsed = model("list_agreements").model_validate(valid("list_agreements") | {"limit": 25.0})
    assert parsed.limit == 25  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("operation", "field", "value"),
    [
        ("get_envelope", "envelopeId", "../accounts"),
        ("void_envelope", "envelopeId", ENVELOPE_ID + "/x"),
        ("get_agreement", "agreementId", "٤b728be4-1c2d-4e5f-8a9b-d63e23f822b6"),
        ("void_envelope", "voidedReason", ""),
        ("list_agreements", "title", "NDA\r\nX-Injected: 1"),
    ],
)
def test_ids_and_single_line_texts_are_checked(operation: str, field: str, value: str) -> None:
    assert field in refused(operation, valid(operation) | {field: value})


def test_an_envelope_comes_from_documents_or_from_a_template_never_both() -> None:
    SendEnvelope.model_validate(TEMPLATE)
    both = valid("send_envelope") | {"templateId": ENVELOPE_ID}
    assert "either templateId" in refused("send_envelope", both)
    assert "either templateId" in refused("send_envelope", {"emailSubject": "Sign"})
    alone = {k: v for k, v in valid("send_envelope").items() if k != "recipients"}
    assert "go together" in refused("send_envelope", alone)
    signers = valid("send_envelope")
    signers["recipients"]["signers"][0]["recipientId"] = "0"
    assert "recipientId" in refused("send_envelope", signers)


def test_docusign_receives_the_envelope_sent_at_once_with_the_hidden_marker() -> None:
    payload = SendEnvelope.model_validate(valid("send_envelope"))
    assert envelope_definition(payload, marker_field="gateway_marker", marker=MARKER) == {
        "emailSubject": "Please sign the NDA",
        "documents": [
            {"documentId": "1", "name": "NDA", "fileExtension": "pdf", "documentBase64": "JVBERi0x"}
        ],
        "recipients": {
            "signers": [
                {
                    "email": "signer@example.com",
                    "name": "Sara Ali",
                    "recipientId": "1",
                    "routingOrder": "1",
                    "tabs": {
                        "signHereTabs": [
                            {
                                "anchorString": "/sn1/",
                                "anchorUnits": "pixels",
                                "anchorXOffset": "0",
                                "anchorYOffset": "0",
                            }
                        ]
                    },
                }
            ],
            "carbonCopies": [
                {
                    "email": "legal@example.com",
                    "name": "Legal",
                    "recipientId": "2",
                    "routingOrder": "1",
                }
            ],
        },
        "status": "sent",
        "customFields": {
            "textCustomFields": [
                {"name": "gateway_marker", "value": MARKER, "show": "false", "required": "false"}
            ]
        },
    }


def test_the_result_an_undo_needs_holds_a_path_safe_envelope_id() -> None:
    assert EnvelopeSent.model_validate({"envelope_id": ENVELOPE_ID, "status": "sent"})
    for bad in ("", "../x", "a/b", ENVELOPE_ID + "?x=1"):
        with pytest.raises(ValidationError):
            EnvelopeSent.model_validate({"envelope_id": bad})
