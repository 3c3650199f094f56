"""What the tests of a connector's contract share: its payload models, each with a valid
example for a test to vary, the objects of a JSON schema, and a payload as the gateway
receives it."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pydantic import BaseModel, ValidationError

from gateway.contract import ConnectorMetadata


@dataclass(frozen=True)
class Examples:
    """A connector's payload models and a valid payload of each operation."""

    metadata: ConnectorMetadata
    payloads: Mapping[str, Mapping[str, Any]]

    def model(self, operation: str) -> type[BaseModel]:
        spec = self.metadata.operation(operation)
        assert spec is not None
        return spec.payload_model

    def valid(self, operation: str) -> dict[str, Any]:
        """A copy of the operation's valid payload, free to change."""
        return copy.deepcopy(dict(self.payloads[operation]))

    def refused(self, operation: str, payload: dict[str, Any]) -> str:
        """Why the operation's model refuses ``payload``; the test fails when it accepts it."""
        with pytest.raises(ValidationError) as caught:
            self.model(operation).model_validate(payload)
        return str(caught.value)


def schema_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON schema, nested ones included, the schema first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schema_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_nodes(value)


def through_struct(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` as the gateway receives it: a Struct, where every number is a double."""
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(payload), struct)
    return json_format.MessageToDict(struct)
