"""The HTTP client shared by every HTTP vendor adapter (Stripe, Twilio, WhatsApp, ...)."""

from .client import (
    ErrorParser,
    Phase,
    VendorHttpClient,
    VendorResponse,
    default_error_parser,
    retry_after_ms,
)

__all__ = [
    "ErrorParser",
    "Phase",
    "VendorHttpClient",
    "VendorResponse",
    "default_error_parser",
    "retry_after_ms",
]
