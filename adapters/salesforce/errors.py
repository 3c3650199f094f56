"""Salesforce's error answers, read into the gateway's domain errors.

The REST API answers an error with a JSON array of ``{message, errorCode, fields}``; the
OAuth token endpoint with ``{error, error_description}``. The shared HTTP client maps statuses
(400 and 404: VENDOR_REJECTED, 401 and 403: VENDOR_AUTH_FAILED, 5xx, ...); this module refines
what Salesforce means differently:

* ``403 REQUEST_LIMIT_EXCEEDED``: the org's API request limit (24-hour or concurrent) is
  used up. Nothing was done; the caller may try again later: VENDOR_RATE_LIMITED.
* ``300 Multiple Choices`` to a request by external id: several records hold that value.
  Salesforce acted on none of them: VENDOR_REJECTED.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import GatewayError, VendorRateLimited, VendorRejected

REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
# Salesforce sends no Retry-After with REQUEST_LIMIT_EXCEEDED; its limits are rolling (24 h)
# or concurrent, so an immediate retry would meet the same answer.
REQUEST_LIMIT_RETRY_AFTER_MS = 60_000


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if isinstance(value, str | int | float) else ""


def parse_error(status: int, body: Any) -> tuple[str, str]:
    """The (code, message) of a Salesforce error answer; empty strings when it has none."""
    if isinstance(body, list):
        first = body[0] if body else None
        if isinstance(first, Mapping):
            return _text(first.get("errorCode")), _text(first.get("message"))
        return "", ""
    if isinstance(body, Mapping):
        if "error" in body:  # the token endpoint
            return _text(body.get("error")), _text(body.get("error_description"))
        return _text(body.get("errorCode")), _text(body.get("message"))
    if isinstance(body, str):
        return "", _text(body)
    return "", ""


def refine(error: GatewayError, *, where: str) -> GatewayError:
    """``error`` as Salesforce means it (see the module's docstring); otherwise unchanged."""
    status = error.metadata.get("vendor_status")
    code = error.metadata.get("vendor_code")
    if status == "403" and code == REQUEST_LIMIT_EXCEEDED:
        return VendorRateLimited(
            f"salesforce answered 403 to {where} [{REQUEST_LIMIT_EXCEEDED}]: the org's API "
            "request limit is used up; it did not act: retry later with the same key",
            metadata=error.metadata,
            retry_after_ms=REQUEST_LIMIT_RETRY_AFTER_MS,
        )
    if status == "300":
        return VendorRejected(
            f"salesforce answered 300 to {where}: several records hold this external id, "
            "so it acted on none; make the value unique or update the record by its id",
            metadata=error.metadata,
            may_have_acted=False,
        )
    return error
