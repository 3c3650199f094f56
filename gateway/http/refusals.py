"""The one place where the HTTP side turns an error into its answer.

Every refusal is a JSON body with the same code, reason and metadata a gRPC caller reads in
``ErrorInfo`` (docs/errors.md), and leaves an audit row before it is sent. aiohttp's own
refusals (no such route, method not allowed, body too large) are turned into the gateway's
reasons first. Anything unexpected becomes INTERNAL with a trace id to quote; the details go
to the log only.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from gateway.approvals.model import Approval
from gateway.audit.record import AuditEvent, AuditLog, Outcome
from gateway.audit.refusal_limiter import RefusalLimiter
from gateway.errors import (
    BodyTimeout,
    GatewayError,
    Internal,
    MalformedRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
)
from gateway.identity import Identity
from gateway.interceptors.audit import REQUEST_REJECTED

log = logging.getLogger(__name__)

_STATUS_BY_CODE = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "FAILED_PRECONDITION": 409,
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 408,
    "UNIMPLEMENTED": 405,
}
_STATUS_BY_REASON = {PayloadTooLarge.reason: 413}
_IDENTITY = web.RequestKey("identity", Identity)
_APPROVAL = web.RequestKey("approval", Approval)


def http_status(error: GatewayError) -> int:
    return _STATUS_BY_REASON.get(error.reason) or _STATUS_BY_CODE.get(error.code.name, 500)


def printable(text: str, limit: int = 200) -> str:
    """``text`` as it may be stored, hashed and shown: control characters and lone surrogates
    (undecodable bytes) escaped, and at most ``limit`` characters."""
    cleaned = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def refusal_body(error: GatewayError) -> dict[str, Any]:
    return {
        "error": {
            "code": error.code.name,
            "reason": error.reason,
            "message": printable(error.message, 1000),
            "metadata": {key: printable(value) for key, value in error.metadata.items()},
        }
    }


def refusal_headers(error: GatewayError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if error.retry_info_ms is not None:
        headers[hdrs.RETRY_AFTER] = str(math.ceil(error.retry_info_ms / 1000))
    if isinstance(error, MethodNotAllowed):
        headers[hdrs.ALLOW] = error.metadata.get("allowed", "")
    return headers


def remember_identity(request: web.Request, identity: Identity) -> None:
    """Names the caller in the audit row of a refusal that comes after authentication."""
    request[_IDENTITY] = identity


def remember_approval(request: web.Request, approval: Approval) -> None:
    """Names the action in the audit row of a refusal that concerns this approval."""
    request[_APPROVAL] = approval


def _from_aiohttp(request: web.Request, error: web.HTTPException) -> GatewayError | None:
    """The gateway's reason for a refusal by aiohttp; None for its server errors."""
    if isinstance(error, web.HTTPNotFound):
        return RouteNotFound(f"no such route: {printable(request.path, 100)}")
    if isinstance(error, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(error.allowed_methods))
        return MethodNotAllowed(
            f"{printable(request.method, 20)} is not allowed here; use {allowed}",
            metadata={"allowed": allowed},
        )
    if isinstance(error, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge("the request body is too large (http.max_body_bytes)")
    if error.status < 500:
        return MalformedRequest(f"the request cannot be served: {error.reason}")
    return None


def _internal(request: web.Request) -> Internal:
    """INTERNAL with a trace id for the exception being handled, whose details are logged."""
    trace_id = secrets.token_hex(16)
    log.exception(
        "unexpected error in HTTP %s %s (trace %s)",
        printable(request.method, 20),
        printable(request.rel_url.raw_path),
        trace_id,
    )
    return Internal(
        f"internal error; quote trace id {trace_id} to the operators",
        metadata={"trace_id": trace_id},
    )


def _audit_event(
    request: web.Request, error: GatewayError, identity: Identity | None
) -> AuditEvent:
    approval = request.get(_APPROVAL)
    return AuditEvent(
        event_type=REQUEST_REJECTED,
        outcome=Outcome.FAILED if isinstance(error, Internal) else Outcome.REFUSED,
        tenant=identity.tenant if identity else "",
        caller=printable(identity.caller) if identity else "",
        rpc_method=printable(f"HTTP {request.method} {request.rel_url.raw_path}", 300),
        connector_key=approval.connector_key if approval else "",
        operation=approval.operation if approval else "",
        execution_id=approval.execution_id if approval else "",
        payload_digest=approval.payload_digest if approval else "",
        status_code=error.code.name,
        reason=error.reason,
        trace_id=error.metadata.get("trace_id", "") if isinstance(error, Internal) else "",
        detail=_printable_metadata(error.metadata),
    )


def _printable_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    return {printable(key, 60): printable(value) for key, value in metadata.items()}


def refusal_middleware(audit: AuditLog, refusals: RefusalLimiter) -> Middleware:
    """Middleware: answers and audits every refusal, whoever raised it. Refusals of callers
    that never proved who they are get a row within their peer's budget, and beyond it are
    counted into the peer's summary row (the gRPC side shares the budget)."""

    @web.middleware
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as aiohttp_error:
            if aiohttp_error.status < 400:
                raise
            error = _from_aiohttp(request, aiohttp_error) or _internal(request)
        except GatewayError as gateway_error:
            error = gateway_error
        except Exception:
            error = _internal(request)
        identity = request.get(_IDENTITY)
        if identity is not None or refusals.admit(request.remote or "", error):
            await audit.append(_audit_event(request, error, identity))
        response = web.json_response(
            refusal_body(error), status=http_status(error), headers=refusal_headers(error)
        )
        if isinstance(error, BodyTimeout):
            response.force_close()  # what is left of the body cannot be told from a request
        return response

    return answer


def raw_refusal(error: GatewayError) -> bytes:
    """A complete HTTP/1.1 response refusing a connection before any request was read."""
    body = json.dumps(refusal_body(error)).encode()
    status = http_status(error)
    head = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json; charset=utf-8",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in refusal_headers(error).items()),
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body
