"""The format and maximum length of every id, name and free text a caller sends.

Checked by the validation layer before anything is stored, looked up or echoed: a malformed
value is refused with INVALID_FIELD naming the field, and the refusal quotes at most a short,
escaped excerpt of it, so that no caller input of unbounded size reaches a message, the error
metadata, the trailers or an audit row. docs/errors.md lists these limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import FieldViolation, InvalidField

MAX_TEXT_CHARS = 2000  # reasons and notes people write: deny, approve, compensate, resolve
_EXCERPT_CHARS = 24  # how much of a refused value the refusal quotes

# Free text may span lines (newline, tab) but carries no other control character.
_TEXT_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Format:
    """What a well-formed value of one kind looks like, in words a caller can act on."""

    pattern: re.Pattern[str]
    description: str


# The contract's key pattern: connector keys and operation names.
NAME = Format(
    re.compile(r"[a-z][a-z0-9_]{0,62}"),
    "a lowercase letter, then up to 62 lowercase letters, digits or underscores",
)
# The gateway's own ids, exactly as it hands them out.
EXECUTION_ID = Format(re.compile(r"[0-9a-f]{32}"), "32 lowercase hexadecimal digits")
APPROVAL_ID = Format(re.compile(r"apr_[0-9a-f]{24}"), '"apr_" and 24 lowercase hexadecimal digits')
IDEMPOTENCY_KEY = Format(
    re.compile(r"[\x21-\x7e]{1,255}"), "1 to 255 printable ASCII characters without spaces"
)


def excerpt(value: str) -> str:
    """A short, escaped quotation of caller input, with its length when it was cut."""
    if len(value) <= _EXCERPT_CHARS:
        return repr(value)
    return f"{value[:_EXCERPT_CHARS]!r}… ({len(value)} characters)"


def check_format(field: str, value: str, expected: Format) -> str:
    """Returns ``value`` when it has the expected format; INVALID_FIELD otherwise."""
    if expected.pattern.fullmatch(value) is None:
        raise InvalidField(
            f"{field} must be {expected.description} (got {excerpt(value)})",
            violations=(FieldViolation(field, expected.description),),
        )
    return value


def check_text(field: str, value: str) -> str:
    """Returns free text a person wrote when it fits the limits; INVALID_FIELD otherwise."""
    if len(value) > MAX_TEXT_CHARS:
        rule = f"at most {MAX_TEXT_CHARS} characters"
        raise InvalidField(
            f"{field} must be {rule} (got {len(value)})",
            violations=(FieldViolation(field, rule),),
        )
    if _TEXT_UNSAFE.search(value):
        rule = "no control characters other than newline and tab"
        raise InvalidField(f"{field} must have {rule}", violations=(FieldViolation(field, rule),))
    return value
