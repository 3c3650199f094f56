"""The gRPC face: the one place that bends grpc.aio's interceptor API to the chain.

grpc.aio interceptors see only the method name and metadata. ``GovernanceInterceptor`` wraps
each governed handler once: it takes the request as raw bytes (so a message that does not
parse is the gateway's own INVALID_ARGUMENT, not grpcio's UNKNOWN), builds one ``Call`` and
runs the ordered layers around the servicer, which receives the admitted call. A refusal
leaves the chain as a ``GatewayError`` and is answered through ``gateway.status``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import grpc
from google.protobuf.message import Message

from gateway.call import Admitted, Call, CallFacts, Context, Credentials, admit
from gateway.errors import GatewayError
from gateway.interceptors.base import InFlight, Layer, run_chain
from gateway.methods import RULES, MethodRule
from gateway.status import to_grpc_status

if TYPE_CHECKING:
    GrpcContext = grpc.aio.ServicerContext[Any, Any]
    Handler = grpc.RpcMethodHandler[Any, Any]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:  # grpc's classes are not generic at run time
    GrpcContext = grpc.aio.ServicerContext
    Handler = grpc.RpcMethodHandler
    _Interceptor = grpc.aio.ServerInterceptor


class GovernanceInterceptor(_Interceptor):
    """Runs the layer chain for every unary method of the governed services.

    The servicer's methods receive the admitted call (``gateway.call.admit``) instead of a
    bare request message.
    """

    def __init__(self, layers: Sequence[Layer], in_flight: InFlight | None = None) -> None:
        self._layers = tuple(layers)
        self._in_flight = in_flight or InFlight()
        # Each governed method's handler is wrapped once and reused for every call of it.
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        full_method: str = handler_call_details.method
        known = self._wrapped.get(full_method)
        if known is not None and known[0] is handler:
            return known[1]
        rule = RULES.get(full_method)
        if (
            handler is None
            or rule is None  # not a governed method (health, reflection)
            or handler.request_streaming
            or handler.request_deserializer is None
        ):
            return handler
        wrapped = self._wrap(rule, handler, handler.request_deserializer)
        self._wrapped[full_method] = (handler, wrapped)
        return wrapped

    def _wrap(self, rule: MethodRule, handler: Handler, parse: Callable[[bytes], Any]) -> Handler:

        def new_call(raw: bytes, ctx: GrpcContext) -> Call:
            return Call(
                rule=rule,
                raw=raw,
                credentials=Credentials(metadata=tuple(ctx.invocation_metadata() or ())),
                parse=parse,
                facts=CallFacts(),
                received_at=time.monotonic(),
                route=rule.name,
            )

        if handler.unary_stream is not None:
            return self._stream_handler(handler, new_call)
        # The servicer's method is called with the admitted call in place of a request.
        serve = cast(Callable[[Admitted[Any], Context], Awaitable[Message]], handler.unary_unary)

        async def endpoint(call: Call, ctx: Context) -> Message:
            return await serve(admit(call), ctx)

        chain = run_chain(self._layers, endpoint, self._in_flight)

        async def behavior(raw: bytes, ctx: GrpcContext) -> Message:
            try:
                return await chain(new_call(raw, ctx), ctx)
            except GatewayError as error:  # the status-mapping layer made it one
                status = to_grpc_status(error)
                await ctx.abort(status.code, status.details, status.trailing_metadata)
                raise AssertionError("unreachable: abort raises") from None  # pragma: no cover

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=None,
            response_serializer=handler.response_serializer,
        )

    def _stream_handler(
        self, handler: Handler, new_call: Callable[[bytes, GrpcContext], Call]
    ) -> Handler:
        """A server stream runs the chain until its first message, so that every refusal
        (unknown id, missing rights) is audited and mapped like a unary call's; later
        messages flow straight from the servicer."""
        # The servicer's stream method is an async generator taking the admitted call.
        generate = cast(
            Callable[[Admitted[Any], Context], AsyncIterator[Message]], handler.unary_stream
        )

        async def opening(call: Call, ctx: Context) -> Message:
            stream = generate(admit(call), ctx)
            first = await anext(stream)
            return cast(Message, _Opened(first, stream))

        chain = run_chain(self._layers, opening, self._in_flight)

        async def behavior(raw: bytes, ctx: GrpcContext) -> AsyncIterator[Message]:
            try:
                opened = cast(_Opened, await chain(new_call(raw, ctx), ctx))
                yield opened.first
                async for message in opened.rest:
                    yield message
            except GatewayError as error:
                status = to_grpc_status(error)
                await ctx.abort(status.code, status.details, status.trailing_metadata)

        return grpc.unary_stream_rpc_method_handler(
            behavior,
            request_deserializer=None,
            response_serializer=handler.response_serializer,
        )


@dataclass(frozen=True)
class _Opened:
    first: Message
    rest: AsyncIterator[Message]
