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
from gateway.canonical import sha256_hex
from gateway.contract import (
    Adapter,
    AttemptContext,
    ConnectorMetadata,
    Idempotency,
    OperationSpec,
    PolicyClass,
)
from gateway.errors import NotConfigured
from gateway.unconfigured import UnconfiguredAdapter

# The connectors declared before their adapters: no account, served by the stand-in.
DECLARED = tuple(plugin.metadata for plugin in PLUGINS if plugin.build is None)
MAX_SAFE_INTEGER = 2**53 - 1
ENVELOPE_ID = "4b728be4-1c2d-4e5f-8a9b-d63e23f822b6"

# One valid payload per operation; every top-level integer field is present.
VALID: dict[tuple[str, str], dict[str, Any]] = {
    ("contract_intel", "send_envelope"): {
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
    ("contract_intel", "void_envelope"): {"envelopeId": ENVELOPE_ID, "voidedReason": "Sent twice"},
    ("contract_intel", "get_envelope"): {"envelopeId": ENVELOPE_ID},
    ("contract_intel", "get_agreement"): {"agreementId": ENVELOPE_ID},
    ("contract_intel", "list_agreements"): {"limit": 25, "ctoken": "abc123"},
}

# connector -> operation -> (policy class, idempotency, compensation)
EXPECTED: dict[str, dict[str, tuple[PolicyClass, Idempotency, str | None]]] = {
    "contract_intel": {
        "send_envelope": (PolicyClass.B, Idempotency.GATEWAY, "void_envelope"),
        "void_envelope": (PolicyClass.B, Idempotency.GATEWAY, None),
        "get_envelope": (PolicyClass.A, Idempotency.NONE, None),
        "get_agreement": (PolicyClass.A, Idempotency.NONE, None),
        "list_agreements": (PolicyClass.A, Idempotency.NONE, None),
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
    assert keys == ["contract_intel"]


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
        "contract_intel": ("Contract Intelligence (DocuSign)", "ذكاء العقود (دوكيوساين)"),
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
        assert op.idempotency is Idempotency.GATEWAY
    if op.compensation is not None:
        undo = meta.operation(op.compensation)
        assert undo is not None
        assert not undo.read_only
    assert op.success_event != op.failure_event


def test_connector_settings() -> None:
    for meta in DECLARED:
        assert meta.contract_url.startswith("https://")
        assert 0 < meta.timeout_ms <= 30_000


def test_audit_events() -> None:
    assert {"envelope_sent", "envelope_failed"} <= set(BY_KEY["contract_intel"].audit_event_types)


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
        "contract_intel.list_agreements",
    }


# --- the vendor rules --------------------------------------------------------------------------


def test_exactly_one_alternative_is_required() -> None:
    envelope = _valid("contract_intel", "send_envelope")
    envelope["templateId"] = ENVELOPE_ID
    _refused(_model("contract_intel", "send_envelope"), envelope)
    from_template = {
        "emailSubject": "Sign",
        "templateId": ENVELOPE_ID,
        "templateRoles": [{"roleName": "Client", "name": "Sara", "email": "s@example.com"}],
    }
    _model("contract_intel", "send_envelope").model_validate(from_template)
    _refused(_model("contract_intel", "send_envelope"), {"emailSubject": "Sign"})


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
