"""Reading what a gRPC caller observes: status code, ErrorInfo, BadRequest, trailers."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass
class Refusal:
    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    violations: list[tuple[str, str]] = field(default_factory=list)
    retry_delay_ms: int | None = None
    trailers: dict[str, str] = field(default_factory=dict)


def refusal(error: grpc.aio.AioRpcError) -> Refusal:
    found = Refusal(code=error.code(), message=error.details() or "")
    found.trailers = {k: v for k, v in (error.trailing_metadata() or ()) if isinstance(v, str)}
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            found.reason, found.domain, found.metadata = (
                info.reason,
                info.domain,
                dict(info.metadata),
            )
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.violations = [(v.field, v.description) for v in bad.field_violations]
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            found.retry_delay_ms = retry.retry_delay.ToMilliseconds()
    return found
