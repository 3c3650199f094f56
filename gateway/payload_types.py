"""Field types shared by operation payload models."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer every JSON parser carries exactly


def integral(value: Any) -> int:
    """Accepts integral numbers only, within the range JSON carries exactly."""
    # Struct carries every number as a double: 3.0 is the integer 3, 3.5 is a mistake, and
    # a string or a boolean is never silently taken for a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integral number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integral number, not a fraction")
        value = int(value)
    number = int(value)
    if abs(number) > MAX_SAFE_INTEGER:
        raise ValueError("is beyond ±(2^53-1); send such identifiers and amounts as strings")
    return number


SafeInt = Annotated[int, BeforeValidator(integral)]

# What a header or a single-line vendor field cannot carry: C0 controls (tab included), DEL,
# C1 controls, and every other character ``str.splitlines()`` breaks a line at (\x1c-\x1e and
# \x85 are among the controls; U+2028 and U+2029 are not). A vendor's format, or the library
# building it, would either refuse such a value after the request was admitted or split it.
# Written with escapes, so that the JSON schema shows it readably (ECMA-262 reads them too).
HEADER_TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def header_text(value: str) -> str:
    """Accepts text that fits on one header line."""
    if _HEADER_UNSAFE.search(value):
        raise ValueError(
            "must be a single line: no CR, LF or other control characters, and no line or "
            "paragraph separators (U+0085, U+2028, U+2029)"
        )
    return value


# A string that ends up in a header or a single-line vendor field (a subject, a name, an id).
# The pattern only shows the rule in the JSON schema; the validator gives the clear message.
HeaderText = Annotated[
    str,
    AfterValidator(header_text),
    Field(json_schema_extra={"pattern": HEADER_TEXT_PATTERN}),
]
