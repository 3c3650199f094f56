"""Checks an answer a sandbox gave against the vendor's published description, read as
``VendorSchema`` reads it (unknown properties refused, required ones required, ``nullable``
as a null type, also where it qualifies an ``anyOf`` or ``oneOf``, as in Stripe's expandable
ids), so a sandbox's answers keep the vendor's shapes.

``answer_violations(spec, pointer, answer)`` checks against a schema named by its pointer
(``/components/schemas/X``); ``answer_problems(schema, method, path, status, body)`` finds
the operation (as ``VendorSchema.operation`` does) and its JSON answer for ``status`` (or
``default``)."""

from __future__ import annotations

import copy
import functools
from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.support.vendor_schema import VendorSchema

_URI = "urn:vendor-answer"


def answer_violations(spec: str, pointer: str, answer: Any) -> list[str]:
    """What in ``answer`` breaks the schema at ``pointer`` (``/components/schemas/X``) of
    ``spec``; empty when it fits."""
    return _violations(VendorSchema.load(spec), pointer, answer)


def answer_problems(
    schema: VendorSchema, method: str, path: str, status: int, body: Any
) -> list[str]:
    """Every way ``body`` breaks the description's answer to ``method path`` with ``status``."""
    operation, _ = schema.operation(method, path)
    responses = _at(schema.document, operation.pointer)["responses"]
    code = str(status) if str(status) in responses else "default"
    if code not in responses:
        return [f"the description has no answer {status} to {method} {path}"]
    pointer = f"{operation.pointer}/responses/{code}"
    response = responses[code]
    while "$ref" in response:
        pointer = response["$ref"].lstrip("#")
        response = _at(schema.document, pointer)
    if "application/json" not in response.get("content", {}):
        return [f"the description's answer {code} to {method} {path} is not JSON"]
    return _violations(schema, f"{pointer}/content/application~1json/schema", body)


def _violations(schema: VendorSchema, pointer: str, answer: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"{_URI}#{pointer}"}, registry=_registry(schema)
    )
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(answer)
    ]


def _at(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.strip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _null_branches(node: Any) -> None:
    """``nullable`` beside ``anyOf``/``oneOf`` (no ``type`` to widen) as a null branch."""
    if isinstance(node, list):
        for item in node:
            _null_branches(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("nullable") is True and "type" not in node:
        for combined in ("anyOf", "oneOf"):
            if isinstance(node.get(combined), list):
                node[combined] = [*node[combined], {"type": "null"}]
    for value in node.values():
        _null_branches(value)


@functools.cache
def _registry(schema: VendorSchema) -> Registry[Any]:
    document = copy.deepcopy(schema.document)
    _null_branches(document)
    registry: Registry[Any] = Registry().with_resource(_URI, DRAFT202012.create_resource(document))
    return registry
