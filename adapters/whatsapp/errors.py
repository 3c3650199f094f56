"""Graph API error answers read into the gateway's terms.

Graph answers an error with ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``; its ``code`` becomes the error's ``vendor_code``. The HTTP status decides
the reason (``adapters.http``), except for codes that say more than their status:

* 131047 (re-engagement message): the recipient's 24-hour customer service window is closed,
  so only a template may be sent: ``MESSAGING_WINDOW_CLOSED``.
* Throttling (4, 80007, 130429, 131048, 131056), whatever the status: the message was not
  sent and may be sent later: ``VENDOR_RATE_LIMITED``.
* 190 (access token expired or invalid), whatever the status: ``VENDOR_AUTH_FAILED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.http import default_error_parser
from gateway.errors import (
    GatewayError,
    MessagingWindowClosed,
    VendorAuthFailed,
    VendorRateLimited,
    VendorRejected,
)

WINDOW_CLOSED = "131047"
THROTTLED = frozenset({"4", "80007", "130429", "131048", "131056"})
CREDENTIALS_REFUSED = "190"  # Graph: the access token expired or was revoked


def graph_error(status: int, body: Any) -> tuple[str, str]:
    """(code, message) of a Graph error body; another shape is read the common way."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping) and error.get("code") not in (None, ""):
        message = error.get("message")
        return str(error["code"]), message if isinstance(message, str) else ""
    return default_error_parser(status, body)


def graph_failure(error: GatewayError, where: str) -> GatewayError:
    """The error for what Graph's code says of a refusal of ``where``; others unchanged."""
    if not isinstance(error, VendorRejected | VendorAuthFailed):
        return error
    code = error.metadata.get("vendor_code", "")
    answered = f"whatsapp answered {error.metadata.get('vendor_status', '')} to {where} [{code}]"
    if code == WINDOW_CLOSED:
        return MessagingWindowClosed(
            f"{answered}: the recipient's 24-hour customer service window is closed, so "
            "WhatsApp takes no free-form message; send an approved template (send_template) "
            "instead, or wait until the recipient writes",
            metadata=error.metadata,
        )
    if code in THROTTLED:
        return VendorRateLimited(
            f"{answered}: WhatsApp throttled the business number and did not send the "
            "message; retry later with the same idempotency key",
            metadata=error.metadata,
            retry_after_ms=error.retry_after_ms,
        )
    if code == CREDENTIALS_REFUSED and not isinstance(error, VendorAuthFailed):
        return VendorAuthFailed(
            f"{answered}: the access token is expired or not valid; an operator must "
            "renew the WhatsApp credentials (the agent's credentials are fine)",
            metadata=error.metadata,
        )
    return error
