"""Field types shared by operation payload models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

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
