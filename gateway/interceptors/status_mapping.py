"""Status mapping: the only place where an error becomes the gRPC status a caller sees."""

from __future__ import annotations

import asyncio
import logging

from google.protobuf.message import Message

from gateway.errors import GatewayError, Internal
from gateway.interceptors.base import Call, Context, Next
from gateway.status import to_grpc_status

log = logging.getLogger(__name__)


class StatusMappingLayer:
    name = "status_mapping"

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        try:
            return await call_next(call)
        except GatewayError as error:
            failure = error
        except asyncio.CancelledError:
            call.facts.status_code = "CANCELLED"
            raise
        except Exception:
            # The details go to the log only; the caller gets the trace id to quote.
            log.exception("unexpected error in %s (trace %s)", call.method, call.facts.trace_id)
            failure = Internal(
                f"internal error; quote trace id {call.facts.trace_id} to the operators",
                metadata={"trace_id": call.facts.trace_id},
            )
        call.facts.status_code = failure.code.name
        status = to_grpc_status(failure)
        await ctx.abort(status.code, status.details, status.trailing_metadata)
        raise AssertionError("unreachable: abort raises")  # pragma: no cover
