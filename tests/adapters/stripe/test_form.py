"""Stripe's form encoding: nested parameters become bracketed keys, in order."""

from __future__ import annotations

from urllib.parse import urlencode

from adapters.stripe.form import encode


def test_nested_parameters_become_bracketed_keys_in_order() -> None:
    fields = encode(
        {
            "line_items": [
                {"price": "price_1", "quantity": 2},
                {"price": "price_2", "quantity": 1},
            ],
            "after_completion": {"type": "redirect", "redirect": {"url": "https://x.test/done"}},
            "metadata": {"order": "42"},
        }
    )
    assert list(fields.items()) == [
        ("line_items[0][price]", "price_1"),
        ("line_items[0][quantity]", "2"),
        ("line_items[1][price]", "price_2"),
        ("line_items[1][quantity]", "1"),
        ("after_completion[type]", "redirect"),
        ("after_completion[redirect][url]", "https://x.test/done"),
        ("metadata[order]", "42"),
    ]
    # On the wire the brackets are percent-encoded, as every form encoder does.
    assert urlencode(encode({"metadata": {"a b": "c&d"}})) == "metadata%5Ba+b%5D=c%26d"


def test_booleans_are_words_and_absent_values_are_not_sent() -> None:
    assert encode({"active": False, "x": True, "cancellation_reason": None, "metadata": {}}) == {
        "active": "false",
        "x": "true",
    }
