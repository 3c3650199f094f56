"""Property: the gateway's canonical JSON is byte for byte ``rfc8785.dumps``, and refuses
exactly what it refuses, with the same error."""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.canonical import canonical_json, sha256_hex

SAFE = 2**53 - 1
EXAMPLES = settings(max_examples=500, deadline=None)


class Color(enum.IntEnum):
    RED = 1


class Word(enum.StrEnum):
    HELLO = "hello"


# Characters where encoders go wrong: ASCII with its control characters, both sides of the
# surrogate block and the private use area (UTF-16 orders U+E000-U+FFFF after astral
# characters, code points before them), astral characters, and anything else.
CHARACTERS = st.one_of(
    st.characters(max_codepoint=0x7F),
    st.characters(min_codepoint=0xD700, max_codepoint=0xFFFF, exclude_categories=["Cs"]),
    st.characters(min_codepoint=0x10000, max_codepoint=0x1FFFF),
    st.characters(exclude_categories=["Cs"]),
)
TEXT = st.text(CHARACTERS, max_size=12)
# Keys with few distinct characters, so that sibling keys share prefixes and differ where
# orders by code point and by UTF-16 code unit disagree (U+E000-U+FFFF against astral).
KEY = st.text(
    st.sampled_from(["a", "b", "~", "\x7f", "é", "\ud7ff", "\ue000", "\uffff"]), max_size=4
)
ASTRAL_KEY = st.text(st.sampled_from(["a", "\ue000", "\uffff", "😀", "\U00010000"]), max_size=3)
KEYS = st.sampled_from([KEY, KEY, KEY, st.text(CHARACTERS, max_size=4)]).flatmap(lambda key: key)

INTEGERS = st.one_of(
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.sampled_from([0, 1, -1, SAFE, -SAFE, SAFE - 1, -SAFE + 1]),
)
MILLIS = st.integers(min_value=-(10**9), max_value=10**9).map(lambda n: n / 1000)  # 12.345
FLOATS = st.one_of(
    st.integers(min_value=-(2**60), max_value=2**60).map(float),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            *(0.0, -0.0, 1.0, -1.0, 0.5, 1e-4, 9.999999999999999e-05, 1e-6, 1e-7),
            *(1e16, 1e21, 1e22, 9007199254740991.0, 9007199254740992.0, 1.7976931348623157e308),
            *(5e-324, 2.2250738585072014e-308, 123456789012345.67, 0.1 + 0.2, 1 / 3),
        ]
    ),
)
# Mostly what the gateway serializes (text, integers, latencies), so that most values are
# written by the C encoder, with the rarer floats that only rfc8785 writes among them.
SCALARS = st.sampled_from(
    [st.none(), st.booleans(), INTEGERS, TEXT, TEXT, MILLIS, MILLIS, FLOATS]
).flatmap(lambda scalar: scalar)


def json_values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=6)
        ),
        max_leaves=25,
    )


# What RFC 8785 refuses, and what rfc8785 accepts beyond plain JSON types.
REFUSED = st.one_of(
    st.sampled_from([SAFE + 1, -SAFE - 1, 2**64, -(2**64), math.nan, math.inf, -math.inf]),
    st.integers(min_value=SAFE + 1),
    st.integers(max_value=-SAFE - 1),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3).map(lambda s: f"a{s}b"),
    st.builds(lambda k, v: {k: v}, st.one_of(st.integers(), st.none(), st.booleans()), TEXT),
    st.sampled_from([{1, 2}, b"bytes", 1 + 2j, object(), Ellipsis]),
)
UNUSUAL = st.one_of(
    st.lists(SCALARS, max_size=3).map(tuple),
    st.sampled_from([Color.RED, Word.HELLO, True, False]),
    st.dictionaries(st.sampled_from([Word.HELLO, "hello", "x"]), SCALARS, max_size=3),
)


def outcome(encode: Callable[[Any], bytes], value: Any) -> tuple[str, Any]:
    """The bytes ``encode`` writes for ``value``, or the type of error it refuses it with."""
    try:
        return ("written", bytes(encode(value)))
    except ValueError as error:
        return ("refused", type(error))


@EXAMPLES
@given(json_values(SCALARS))
@example({"\ue000": 1, "😀": 2, "a": 3})  # UTF-16 puts the astral key first
@example({"latency_ms": 0.0, "n": [1.0, -0.0, 1e21, 1e-7]})
@example('\x00\x1f\x7f"\\\b\f\n\r\t\u2028')
def test_json_values_are_serialized_as_rfc8785_does(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@EXAMPLES
@given(st.dictionaries(st.one_of(ASTRAL_KEY, KEY), st.one_of(INTEGERS, TEXT), max_size=8))
def test_keys_are_ordered_by_utf16_code_units(value: dict[str, Any]) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@EXAMPLES
@given(json_values(st.one_of(SCALARS, REFUSED, UNUSUAL)))
def test_refusals_and_unusual_values_match_rfc8785(value: Any) -> None:
    assert outcome(canonical_json, value) == outcome(rfc8785.dumps, value)


@EXAMPLES
@given(json_values(SCALARS), REFUSED)
def test_a_refused_part_anywhere_refuses_the_whole_value(value: Any, refused: Any) -> None:
    whole = {"value": value, "nested": [{"refused": refused}]}
    assert outcome(canonical_json, whole)[0] == "refused"
    assert outcome(canonical_json, whole) == outcome(rfc8785.dumps, whole)


@pytest.mark.parametrize(
    "value",
    [SAFE + 1, -SAFE - 1, math.nan, "lone \udc00", {"\ud800": 1}, {1: "one"}, {2, 3}],
)
def test_refusals_raise_what_rfc8785_raises(value: Any) -> None:
    assert refusal(canonical_json, value) == refusal(rfc8785.dumps, value)


def refusal(encode: Callable[[Any], bytes], value: Any) -> tuple[type[ValueError], str]:
    try:
        encode(value)
    except ValueError as error:
        return type(error), str(error)
    raise AssertionError(f"{value!r} was written")


def test_the_example_of_rfc8785_and_its_digest() -> None:
    # RFC 8785, section 3.2.2 (input) and section 3.2.3 (output).
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": '\u20ac$\u000f\nA\'B"\\\\"/',
        "literals": [None, True, False],
    }
    expected = (
        b'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(value) == expected
    assert sha256_hex(value) == hashlib.sha256(expected).hexdigest()
