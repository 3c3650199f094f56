"""Turning a domain error into a rich gRPC status: the only place that does it."""

from __future__ import annotations

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from gateway.errors import DOMAIN, GatewayError

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
