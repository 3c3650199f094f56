"""Checks an answer a sandbox gave against a schema of the vendor's published description,
read as ``VendorSchema`` reads it (unknown properties refused), so a sandbox's answers keep
the vendor's shapes."""

from __future__ import annotations

from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.support.vendor_schema import VendorSchema

_URI = "urn:vendor-answer"


def answer_violations(spec: str, pointer: str, answer: Any) -> list[str]:
    """What in ``answer`` breaks the schema at ``pointer`` (``/components/schemas/X``) of
    ``spec``; empty when it fits."""
    document = VendorSchema.load(spec).document
    registry: Registry[Any] = Registry().with_resource(_URI, DRAFT202012.create_resource(document))
    validator = jsonschema.Draft202012Validator({"$ref": f"{_URI}#{pointer}"}, registry=registry)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(answer)
    ]
