"""DocuSign's error answers read into the vendor's (code, message), and the few codes whose
meaning the HTTP status does not carry.

* eSignature answers ``{"errorCode": "ENVELOPE_DOES_NOT_EXIST", "message": "..."}``.
* Navigator answers ``{"error": "<message>", "code": <status>, "timestamp": "..."}``, and a
  plain-text 401.
* The account server (token, user-info) answers OAuth's ``{"error": "invalid_grant",
  "error_description": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.http import default_error_parser
from gateway.errors import GatewayError, VendorAuthFailed, VendorRateLimited, VendorRejected

# DocuSign has answered its API limits with a 400 as well as a 429.
RATE_LIMIT_CODES = frozenset(
    {"HOURLY_APIINVOCATION_LIMIT_EXCEEDED", "BURST_APIINVOCATION_LIMIT_EXCEEDED"}
)
NOT_FOUND_CODES = frozenset({"ENVELOPE_DOES_NOT_EXIST"})


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, Mapping | list) else str(value)


def esignature_error(status: int, body: Any) -> tuple[str, str]:
    if isinstance(body, Mapping) and "errorCode" in body:
        return _text(body.get("errorCode")), _text(body.get("message"))
    return default_error_parser(status, body)


def navigator_error(status: int, body: Any) -> tuple[str, str]:
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        code = body.get("code")
        return ("" if code is None else _text(code)), body["error"]
    return default_error_parser(status, body)


def refined(error: GatewayError, *, what: str) -> GatewayError:
    """The client's mapping, corrected where DocuSign's code says more than its status:
    a limit answered with a 400 is a rate limit, and a missing envelope says so."""
    code = error.metadata.get("vendor_code", "")
    if isinstance(error, VendorRejected) and code in RATE_LIMIT_CODES:
        return VendorRateLimited(
            f"docusign refused {what} because the account's API limit is used up "
            f"[{code}]: it did not act; retry later",
            metadata=error.metadata,
            retry_after_ms=error.retry_after_ms,
        )
    if isinstance(error, VendorRejected) and (
        code in NOT_FOUND_CODES or error.metadata.get("vendor_status") == "404"
    ):
        said = f" [{code}]" if code else ""
        return VendorRejected(
            f"docusign found no such {what}{said}: check the id", metadata=error.metadata
        )
    return error


def account_server_failure(error: GatewayError) -> GatewayError:
    """An error of the token or user-info request. Neither acts on anything, so the vendor
    never acted; a refusal of the grant is the gateway's own credentials (or the user's
    consent) failing, which an operator fixes."""
    error.may_have_acted = False
    status = error.metadata.get("vendor_status", "")
    if isinstance(error, VendorRejected) or status in ("400", "401", "403"):
        code = error.metadata.get("vendor_code", "")
        hint = (
            "the user has not granted the integration consent"
            if code == "consent_required"
            else "check the integration key, user id, private key and scopes"
        )
        return VendorAuthFailed(
            f"docusign's account server refused the gateway's JWT grant"
            f"{f' [{code}]' if code else ''}: {hint}",
            metadata=error.metadata,
            may_have_acted=False,
        )
    return error
