"""Canonical JSON (RFC 8785, JCS) and the digests computed over it.

``rfc8785`` is the reference, and it is pure Python: the dozen serializations of a governed
call were a noticeable share of the gateway's CPU. The standard library's C encoder, set up
as below, writes byte for byte what RFC 8785 asks for as long as the value holds only exactly
dict, list, str, bool, None, integers within ±(2**53-1) and floats that Python writes as
ECMAScript does, and no key with a character beyond U+FFFF (RFC 8785 orders keys by UTF-16
code units, Python by code points: the two differ only there). ``_fit`` checks that in one
walk, which costs a fraction of the encoding, and hands integral floats over as integers.
Whatever it cannot vouch for (tuples, subclasses, other floats, astral keys, everything RFC
8785 refuses) and any lone surrogate (refused when the text is encoded to UTF-8) goes to
``rfc8785``, which writes it or raises exactly as before. A property test checks that both
agree.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring  # the C encoder's string writer, as _ENCODER's
from typing import Any

import rfc8785

_SAFE_INTEGER = 2**53 - 1  # RFC 8785 (I-JSON): integers an IEEE 754 double holds exactly

# Compact, keys sorted, strings escaped as RFC 8785 escapes them (\b \f \n \r \t \" \\ and
# the other control characters as \u00xx; nothing else). No circular check: ``_fit`` walks
# the value first and meets a cycle as rfc8785 would, as a RecursionError.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    sort_keys=True,
    allow_nan=False,
    check_circular=False,
)


class _Unsure(Exception):
    """The fast path cannot vouch for a value; ``rfc8785`` serializes or refuses it."""


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical serialization of a JSON value.

    Raises ValueError (``rfc8785.CanonicalizationError``) for what RFC 8785 cannot represent:
    integers beyond ±(2**53-1), NaN and infinities, lone surrogates, keys that are not str,
    and values of other types.
    """
    kind = type(value)
    try:
        # A lone string or integer (an audit row's assigned columns) skips the encoder's set-up.
        if kind is str:
            return encode_basestring(value).encode("utf-8")
        if kind is int and -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
            return str(value).encode("ascii")
        # Encoding to UTF-8 refuses lone surrogates, which the C encoder copies through.
        return _ENCODER.encode(_fit(value)).encode("utf-8")
    except (_Unsure, UnicodeEncodeError):
        return bytes(rfc8785.dumps(value))


def sha256_hex(value: Any) -> str:
    """SHA-256 over the canonical JSON of ``value``, hex encoded."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def _fit(value: Any) -> Any:
    """``value``, or an equal copy, that the C encoder writes exactly as RFC 8785 does.

    Returns ``value`` itself unless it holds an integral float (a copy holds the integer
    instead); raises _Unsure where it cannot vouch for the encoder's output.
    """
    kind = type(value)
    if kind is dict:
        for key in value:
            if type(key) is not str or not (key.isascii() or max(key) <= "\uffff"):
                raise _Unsure
        items: Any = value.values()
    elif kind is list:
        items = value
    else:
        return _fit_scalar(value, kind)
    for item in items:
        item_kind = type(item)
        if item_kind is str or item_kind is bool or item is None:
            continue  # the common case, checked inline
        if _fit(item) is not item:
            if kind is dict:
                return {k: _fit(v) for k, v in value.items()}
            return [_fit(v) for v in value]
    return value


def _fit_scalar(value: Any, kind: type) -> Any:
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
            return value
    elif kind is float:
        if value.is_integer():
            # ECMAScript writes 2.0 as "2", Python as "2.0": the integer is written alike.
            if -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
                return int(value)
        elif 1e-4 <= abs(value) < 1e16:
            # Python's repr uses no exponent here and has ECMAScript's shortest digits.
            return value
    raise _Unsure
