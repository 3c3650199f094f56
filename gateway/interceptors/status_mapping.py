"""Status mapping: every failure becomes a GatewayError, the one shape callers are answered in.

A GatewayError passes as it is; anything else becomes INTERNAL with a generic message and the
trace id (the details go to the log only). The protocol binding then renders the error (gRPC:
``google.rpc.Status`` in the trailers; HTTP: the JSON refusal) through ``gateway.status``.
"""

from __future__ import annotations

import asyncio
import logging

from google.protobuf.message import Message

from gateway.call import Call, Context
from gateway.errors import GatewayError, Internal
from gateway.interceptors.base import Next

log = logging.getLogger(__name__)


class StatusMappingLayer:
    name = "status_mapping"

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        try:
            return await call_next(call)
        except GatewayError as error:
            call.facts.status_code = error.code.name
            raise
        except asyncio.CancelledError:
            call.facts.status_code = "CANCELLED"
            raise
        except Exception:
            log.exception("unexpected error in %s (trace %s)", call.method, call.facts.trace_id)
            call.facts.status_code = Internal.code.name
            raise Internal(
                f"internal error; quote trace id {call.facts.trace_id} to the operators",
                metadata={"trace_id": call.facts.trace_id},
            ) from None
