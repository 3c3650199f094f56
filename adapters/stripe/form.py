"""Stripe's form encoding: nested parameters as bracketed keys.

Stripe reads ``application/x-www-form-urlencoded`` bodies whose keys nest with brackets:
``metadata[order]=42``, ``line_items[0][price]=price_1``, ``after_completion[redirect][url]=...``.
Booleans are ``true``/``false``; a parameter left out is not sent at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
