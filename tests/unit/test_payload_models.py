"""Every operation's payload model, of every connector, keeps the standard's rules: unknown
fields refused at every depth, every field described for the agents who read the schema,
integers within what a JSON number carries exactly, and a valid payload surviving the trip
through a protobuf Struct (where every number is a double)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.plugins import PLUGINS
from gateway.canonical import sha256_hex
from gateway.contract import OperationSpec
from tests.adapters.examples import VALID
from tests.support.payload_examples import schema_nodes, through_struct

MAX_SAFE_INTEGER = 2**53 - 1
OPERATIONS = [(plugin.key, op) for plugin in PLUGINS for op in plugin.metadata.operations]
IDS = [f"{key}.{op.name}" for key, op in OPERATIONS]


def _top_level_integers(schema: dict[str, Any]) -> list[str]:
    return [
        name
        for name, prop in schema.get("properties", {}).items()
        if any(v.get("type") == "integer" for v in prop.get("anyOf", [prop]))
    ]


def test_every_operation_has_a_valid_example() -> None:
    assert set(VALID) == {(key, op.name) for key, op in OPERATIONS}


@pytest.mark.parametrize(("key", "op"), OPERATIONS, ids=IDS)
def test_the_schema_is_closed_described_and_bounded(key: str, op: OperationSpec) -> None:
    schema = op.payload_model.model_json_schema()
    assert schema["type"] == "object"
    for node in schema_nodes(schema):
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


@pytest.mark.parametrize(("key", "op"), OPERATIONS, ids=IDS)
def test_a_valid_payload_survives_the_struct_round_trip(key: str, op: OperationSpec) -> None:
    example = VALID[(key, op.name)]
    payload = op.payload_model.model_validate(through_struct(example))
    assert payload == op.payload_model.model_validate(example)
    sha256_hex(payload.model_dump(mode="json", exclude_defaults=True))


@pytest.mark.parametrize(("key", "op"), OPERATIONS, ids=IDS)
def test_an_unknown_field_is_refused(key: str, op: OperationSpec) -> None:
    payload = copy.deepcopy(VALID[(key, op.name)])
    payload["unexpected"] = "x"
    with pytest.raises(ValidationError, match="unexpected"):
        op.payload_model.model_validate(payload)


@pytest.mark.parametrize(("key", "op"), OPERATIONS, ids=IDS)
def test_integer_fields_take_only_integral_numbers(key: str, op: OperationSpec) -> None:
    for name in _top_level_integers(op.payload_model.model_json_schema()):
        payload = copy.deepcopy(VALID[(key, op.name)])
        if name not in payload:
            continue  # an optional integer the example leaves out
        whole = payload[name]
        for bad in (whole + 0.5, str(whole), True):
            payload[name] = bad
            with pytest.raises(ValidationError):
                op.payload_model.model_validate(payload)
        payload[name] = float(whole)  # a Struct number
        assert getattr(op.payload_model.model_validate(payload), name) == whole
