"""Twilio's error answers read into the gateway's terms.

Twilio answers an error with ``{"code": 21211, "message": "...", "more_info": "...",
"status": 400}``; its numeric code (21211: invalid 'To' number, 20003: authentication failed,
20404: not found, 20429: too many requests) becomes the error's ``vendor_code``. The HTTP
status decides the gateway's reason (``adapters.http``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.http import default_error_parser


def twilio_error(status: int, body: Any) -> tuple[str, str]:
    """(code, message) of a Twilio error body; another shape is read the common way."""
    if isinstance(body, Mapping) and body.get("code") not in (None, ""):
        message = body.get("message")
        return str(body["code"]), message if isinstance(message, str) else ""
    return default_error_parser(status, body)
