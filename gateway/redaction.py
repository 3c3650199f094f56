"""What of a payload, or of an error's details, may be kept, by the data classification.

The payload digest is always stored, so an operator holding the original payload can prove
which one ran; the redacted copy only helps a reader see the shape of the call.

An error's metadata is redacted the same way where an adapter's error enters the gateway
(``redact_error``) and again in the audit trail: the keys the gateway itself writes
(``GATEWAY_METADATA_KEYS``) are kept, every other value (what a vendor said, refused
addresses, a transport error's text) is redacted by the connector's classification, since a
vendor may quote the request back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.contract import DataClassification
from gateway.errors import GatewayError

_FREE_TEXT_CHARS = 64  # longer strings are treated as free text under INTERNAL

# Metadata values the gateway itself writes: counts, states, validated ids and names, and
# the vendor's status and code (a token, checked below).
GATEWAY_METADATA_KEYS = frozenset(
    {
        "approval_id",
        "attempts",
        "caller",
        "cause",
        "circuit_state",
        "connector_key",
        "execution_id",
        "idempotency_key",
        "limit_bytes",
        "mismatch",
        "operation",
        "phase",
        "policy_class",
        "replayed",
        "resolution",
        "retries_stopped",
        "sandbox",
        "size_bytes",
        "status",
        "timed_out",
        "timeout_ms",
        "trace_id",
        "used_by_execution_id",
        "vendor_code",
        "vendor_status",
        "why",
    }
)
# Kept only when they are tokens: a vendor chose them.
_VENDOR_TOKENS = frozenset({"vendor_code", "vendor_status"})
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
# What redaction itself writes; redacting it again leaves it as it is.
_REDACTED = re.compile(r"<(string|list|object):[0-9]+>|<(null|bool|int|float|redacted)>")


def is_token(value: str) -> bool:
    """Whether ``value`` is a code-like token (``550``, ``card_declined``), not text."""
    return _TOKEN.fullmatch(value) is not None


def _shape(value: Any) -> str:
    if isinstance(value, str):
        return value if _REDACTED.fullmatch(value) else f"<string:{len(value)}>"
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


def redact(payload: Mapping[str, Any], classification: DataClassification) -> dict[str, Any]:
    if classification is DataClassification.PUBLIC:
        return dict(payload)
    if classification is DataClassification.INTERNAL:
        return {k: _internal(v) for k, v in payload.items()}
    if classification is DataClassification.CONFIDENTIAL:
        return {k: _shape(v) for k, v in payload.items()}
    return dict.fromkeys(payload, "<redacted>")


def redact_metadata(
    metadata: Mapping[str, str], classification: DataClassification
) -> dict[str, str]:
    """Error metadata fit to keep: the gateway's own keys as they are, the rest redacted."""
    kept = {
        key: value
        for key, value in metadata.items()
        if key in GATEWAY_METADATA_KEYS and (key not in _VENDOR_TOKENS or is_token(value))
    }
    others = {key: value for key, value in metadata.items() if key not in kept}
    return {**kept, **{key: str(v) for key, v in redact(others, classification).items()}}


def redact_error(error: GatewayError, classification: DataClassification) -> GatewayError:
    """Redacts ``error``'s metadata in place and returns it (to re-raise)."""
    error.metadata = redact_metadata(error.metadata, classification)
    return error
