"""What of a payload the audit trail may keep, by the operation's data classification.

The payload digest is always stored, so an operator holding the original payload can prove
which one ran; the redacted copy only helps a reader see the shape of the call.
"""

from __future__ import annotations

from typing import Any

from gateway.contract import DataClassification

_FREE_TEXT_CHARS = 64  # longer strings are treated as free text under INTERNAL


def _shape(value: Any) -> str:
    if isinstance(value, str):
        return f"<string:{len(value)}>"
    if isinstance(value, list):
        return f"<list:{len(value)}>"
    if isinstance(value, dict):
        return f"<object:{len(value)}>"
    if value is None:
        return "<null>"
    return f"<{type(value).__name__}>"


def _internal(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= _FREE_TEXT_CHARS else _shape(value)
    if isinstance(value, list):
        return [_internal(v) for v in value]
    if isinstance(value, dict):
        return {k: _internal(v) for k, v in value.items()}
    return value


def redact(payload: dict[str, Any], classification: DataClassification) -> dict[str, Any]:
    if classification is DataClassification.PUBLIC:
        return payload
    if classification is DataClassification.INTERNAL:
        return {k: _internal(v) for k, v in payload.items()}
    if classification is DataClassification.CONFIDENTIAL:
        return {k: _shape(v) for k, v in payload.items()}
    return dict.fromkeys(payload, "<redacted>")
