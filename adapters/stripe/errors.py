"""Stripe's error answers, read into the gateway's domain errors.

Stripe answers an error with ``{"error": {"type", "code", "decline_code", "message",
"param"}}``. The shared HTTP client maps the status (400/402/404 VENDOR_REJECTED, 401/403
VENDOR_AUTH_FAILED, 429 VENDOR_RATE_LIMITED, 500 VENDOR_ERROR, 502/503/504
VENDOR_UNAVAILABLE); this module gives it Stripe's code, and turns Stripe's two idempotency
errors into what they mean for the action:

* ``idempotency_key_in_use``: a request under the same key is still running at Stripe, so
  the action may be happening: retryable, and possibly acted (VENDOR_UNAVAILABLE).
* any other ``idempotency_error``: Stripe holds a different request under this action's key
  (the agent's key was used for another payload, after the gateway's own record of it was
  gone). This request was refused and changed nothing: VENDOR_REJECTED saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import GatewayError, VendorRejected, VendorUnavailable

IDEMPOTENCY_MISMATCH = "idempotency_error"
IDEMPOTENCY_IN_USE = "idempotency_key_in_use"


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if isinstance(value, str | int) else ""


def stripe_error(status: int, body: Any) -> tuple[str, str]:
    """Stripe's (code, message): the code is ``error.code``, else ``error.type``; a card
    decline's ``decline_code`` and the ``param`` at fault join the message."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return "", _text(body) if isinstance(body, str) else ""
    kind, code = _text(error.get("type")), _text(error.get("code"))
    if kind == IDEMPOTENCY_MISMATCH:
        code = IDEMPOTENCY_IN_USE if code == IDEMPOTENCY_IN_USE else IDEMPOTENCY_MISMATCH
    message = _text(error.get("message"))
    details = [
        f"{name}: {text}" for name in ("decline_code", "param") if (text := _text(error.get(name)))
    ]
    if details:
        message = f"{message} ({'; '.join(details)})" if message else "; ".join(details)
    return code or kind, message


def translated(error: GatewayError, where: str) -> GatewayError:
    """``error`` as it matters to the action, for Stripe's idempotency errors; else itself."""
    code = error.metadata.get("vendor_code")
    if code == IDEMPOTENCY_IN_USE:
        return VendorUnavailable(
            f"stripe is still running an earlier request under this action's idempotency key "
            f"({where}); it may act on it: retry with the same idempotency key to get its answer",
            metadata=error.metadata,
            may_have_acted=True,
        )
    if code == IDEMPOTENCY_MISMATCH and isinstance(error, VendorRejected):
        return VendorRejected(
            f"stripe refused {where}: it holds a different request under this action's "
            "idempotency key (the same idempotency key was used for another payload within "
            "Stripe's 24 hours); nothing was done: send this request with a new idempotency key",
            metadata=error.metadata,
        )
    return error
