"""The one place a domain error becomes what a protocol answers: a rich gRPC status
(``google.rpc.Status`` with ErrorInfo, BadRequest and RetryInfo in the trailers), or an HTTP
status with a JSON body carrying the same code, reason and metadata."""

from __future__ import annotations

import math
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from gateway.errors import DOMAIN, GatewayError, MethodNotAllowed, PayloadTooLarge

# gRPC's own retry reads this trailer: a server's request to wait before retrying.
RETRY_PUSHBACK_KEY = "grpc-retry-pushback-ms"


def to_rpc_status(error: GatewayError) -> status_pb2.Status:
    """The google.rpc.Status for ``error``: ErrorInfo always, BadRequest and RetryInfo when
    they apply."""
    status = status_pb2.Status(code=error.code.value[0], message=error.message)
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
    status.details.add().Pack(info)
    if error.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        status.details.add().Pack(bad)
    if error.retry_info_ms is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(error.retry_info_ms)
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    return status


def to_grpc_status(error: GatewayError) -> grpc.Status:
    """The status and trailers to abort a call with."""
    status: grpc.Status = rpc_status.to_status(to_rpc_status(error))
    if error.retry_info_ms is not None:
        trailers = (*status.trailing_metadata, (RETRY_PUSHBACK_KEY, str(error.retry_info_ms)))
        return _Status(status.code, status.details, trailers)
    return status


class _Status(grpc.Status):
    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        trailing_metadata: tuple[tuple[str, str | bytes], ...],
    ) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


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


def http_status(error: GatewayError) -> int:
    """The HTTP status for ``error``'s gRPC code (413 for a body too large)."""
    return _STATUS_BY_REASON.get(error.reason) or _STATUS_BY_CODE.get(error.code.name, 500)


def printable(text: str, limit: int = 200) -> str:
    """``text`` as it may be stored, hashed and shown: control characters and lone surrogates
    (undecodable bytes) escaped, and at most ``limit`` characters."""
    cleaned = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def refusal_body(error: GatewayError) -> dict[str, Any]:
    """The JSON an HTTP caller gets: what a gRPC caller reads in ErrorInfo and BadRequest."""
    body: dict[str, Any] = {
        "code": error.code.name,
        "reason": error.reason,
        "message": printable(error.message, 1000),
        "metadata": {key: printable(value) for key, value in error.metadata.items()},
    }
    if error.violations:
        body["violations"] = [
            {"field": printable(v.field), "description": printable(v.description, 1000)}
            for v in error.violations
        ]
    return {"error": body}


def refusal_headers(error: GatewayError) -> dict[str, str]:
    """Retry-After (RetryInfo's delay, in whole seconds) and Allow, where they apply."""
    headers: dict[str, str] = {}
    if error.retry_info_ms is not None:
        headers["Retry-After"] = str(math.ceil(error.retry_info_ms / 1000))
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = error.metadata.get("allowed", "")
    return headers
