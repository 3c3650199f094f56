"""Stripe's form encoding: nested parameters as bracketed keys.

Stripe reads ``application/x-www-form-urlencoded`` bodies whose keys nest with brackets:
``metadata[order]=42``, ``line_items[0][price]=price_1``, ``after_completion[redirect][url]=...``.
Booleans are ``true``/``false``; a parameter left out is not sent at all. ``encode`` writes
such a body (the adapter), ``decode`` reads one back into nested values (the sandbox).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FormValue = str | int | bool | Mapping[str, "FormValue"] | Sequence["FormValue"] | None


def encode(params: Mapping[str, FormValue]) -> dict[str, str]:
    """The flat form fields of ``params``, in order; None values are left out."""
    fields: dict[str, str] = {}
    for name, value in params.items():
        _add(fields, name, value)
    return fields


def _add(fields: dict[str, str], key: str, value: FormValue) -> None:
    if value is None:
        return
    if isinstance(value, bool):  # before int: a bool is an int
        fields[key] = "true" if value else "false"
    elif isinstance(value, str | int):
        fields[key] = str(value)
    elif isinstance(value, Mapping):
        for name, item in value.items():
            _add(fields, f"{key}[{name}]", item)
    else:
        for index, item in enumerate(value):
            _add(fields, f"{key}[{index}]", item)


_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormKeyError(ValueError):
    """A form key that does not nest: unbalanced brackets, or a parameter given both as a
    value and as a nest (``metadata=x`` and ``metadata[a]=y``)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def decode(fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Flat form fields as nested values, strings at the leaves: ``metadata[order]=42`` is
    ``{"metadata": {"order": "42"}}``; numbered keys (``line_items[0][price]``) and empty
    brackets (``expand[]``) make lists. Raises ``FormKeyError`` naming a key that does not
    nest."""
    nested: dict[str, Any] = {}
    for key, value in fields:
        match = _KEY.fullmatch(key)
        if match is None:
            raise FormKeyError(key)
        parts = [match.group(1), *_PART.findall(match.group(2))]
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise FormKeyError(key)
        last = parts[-1]
        if last == "":
            node = node.setdefault("", [])  # a[]=x: appended, in order
            if not isinstance(node, list):
                raise FormKeyError(key)
            node.append(value)
        elif isinstance(node.get(last), dict):
            raise FormKeyError(key)
        else:
            node[last] = value
    listed: dict[str, Any] = _listed(nested)
    return listed


def _listed(node: Any) -> Any:
    """Nests whose keys are all numbers as lists in their order; ``a[]`` lists as they are."""
    if isinstance(node, list):
        return [_listed(item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {""}:
        return _listed(node[""])
    if node and all(key.isdigit() for key in node):
        return [_listed(node[key]) for key in sorted(node, key=int)]
    return {key: _listed(item) for key, item in node.items()}
