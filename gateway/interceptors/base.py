"""The one place that bends grpc.aio's interceptor API into a chain of short layers.

grpc.aio interceptors see only the method name and metadata. ``GovernanceInterceptor`` wraps
each governed unary handler once: it takes the request as raw bytes (so a message that does
not parse is the gateway's own INVALID_ARGUMENT, not grpcio's UNKNOWN), builds one ``Call``
and runs the ordered layers around the servicer. Every layer reads like
``async def intercept(call, call_next, ctx)``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

import grpc
from google.protobuf.message import Message
from pydantic import BaseModel

from gateway.contract import ConnectorMetadata, OperationSpec
from gateway.errors import GatewayError
from gateway.identity import Identity
from gateway.status import to_grpc_status

if TYPE_CHECKING:
    from gateway.store.ledger import Execution

    Context = grpc.aio.ServicerContext[Any, Any]
    Handler = grpc.RpcMethodHandler[Any, Any]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:  # grpc's classes are not generic at run time
    Context = grpc.aio.ServicerContext
    Handler = grpc.RpcMethodHandler
    _Interceptor = grpc.aio.ServerInterceptor


@dataclass
class CallFacts:
    """What the layers learn about a call, kept for the observers (audit, telemetry).

    Deliberately mutable: an inner layer that refuses a call has already recorded who called
    and what was asked, and the audit layer outside it must see that in its row.
    """

    tenant: str = ""
    caller: str = ""
    connector_key: str = ""
    operation: str = ""
    execution_id: str = ""
    idempotency_key: str = ""
    payload_digest: str = ""
    payload_redacted: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    trace_id: str = ""
    status_code: str = "OK"
    refusal_event: str = ""  # the audit event of a governance refusal, e.g. policy_denied
    vendor_contacted: bool = False  # the request may have reached the vendor
    success_event: str = ""
    failure_event: str = ""
    approval_id: str = ""  # the approval this call asked for or used
    resolution: str = ""  # an operator's finding about an unknown outcome


@dataclass(frozen=True)
class Target:
    """The resolved connector and operation of an Execute, with the validated payload."""

    metadata: ConnectorMetadata
    operation: OperationSpec
    payload: BaseModel


@dataclass(frozen=True)
class KeyRef:
    """The idempotency key an action runs under: whose it is (``scope``: the caller, or "" for
    a tenant-wide compensation key), the key, and the request it is bound to."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Deadline:
    """The instant (monotonic clock) by which the gateway must have its answer ready."""

    expires_at: float

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()


@dataclass(frozen=True)
class Call:
    """One governed RPC, as each layer sees it. Layers pass on an enriched copy."""

    method: str  # short name, e.g. "Execute"
    full_method: str
    raw: bytes
    metadata: tuple[tuple[str, str | bytes], ...]
    parse: Callable[[bytes], Message]
    facts: CallFacts
    received_at: float
    identity: Identity | None = None
    request: Any = None  # the parsed request message, set by validation
    target: Target | None = None
    deadline: Deadline | None = None
    audit: Any = None  # the audit layer's recorder for this call (gateway.interceptors.audit)
    execution: Execution | None = None  # for Compensate: the execution it undoes
    key: KeyRef | None = None  # for actions that write: set by the replay layer
    # A repeat of an action admitted earlier (its key is in flight or of unknown outcome):
    # no approval is asked for again.
    repeat: bool = False
    needs_approval: bool = False  # policy class B: the servicer runs it only with approval_id
    approval_id: str = ""  # a granted approval the policy layer checked, consumed by the servicer

    def with_(self, **changes: Any) -> Call:
        return replace(self, **changes)


Next = Callable[[Call], Awaitable[Message]]


class Layer(Protocol):
    name: str

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message: ...


Endpoint = Callable[[Call, Context], Awaitable[Message]]


def run_chain(layers: Sequence[Layer], endpoint: Endpoint) -> Endpoint:
    """Composes layers (first entry outermost) around the servicer's method."""

    async def run(call: Call, ctx: Context) -> Message:
        async def step(index: int, current: Call) -> Message:
            if index == len(layers):
                return await endpoint(current, ctx)
            return await layers[index].intercept(current, lambda nxt: step(index + 1, nxt), ctx)

        return await step(0, call)

    return run


class GovernanceInterceptor(_Interceptor):
    """Runs the layer chain for every unary method of the governed services.

    The servicer's methods receive the final ``Call`` (with identity, target and deadline)
    instead of a bare request message.
    """

    def __init__(self, layers: Sequence[Layer], governed_services: Sequence[str]) -> None:
        self._layers = tuple(layers)
        self._services = tuple(f"/{s}/" for s in governed_services)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        full_method: str = handler_call_details.method
        if (
            handler is None
            or not full_method.startswith(self._services)
            or handler.request_streaming
            or handler.request_deserializer is None
        ):
            return handler
        parse = handler.request_deserializer
        metadata = tuple(handler_call_details.invocation_metadata or ())
        method = full_method.rsplit("/", 1)[-1]

        def new_call(raw: bytes) -> Call:
            return Call(
                method=method,
                full_method=full_method,
                raw=raw,
                metadata=metadata,
                parse=parse,
                facts=CallFacts(),
                received_at=time.monotonic(),
            )

        if handler.unary_stream is not None:
            return self._stream_handler(handler, new_call)
        # The servicer's method is called with the final Call in place of a request message.
        chain = run_chain(self._layers, cast(Endpoint, handler.unary_unary))

        async def behavior(raw: bytes, ctx: Context) -> Message:
            return await chain(new_call(raw), ctx)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=None,
            response_serializer=handler.response_serializer,
        )

    def _stream_handler(self, handler: Handler, new_call: Callable[[bytes], Call]) -> Handler:
        """A server stream runs the chain until its first message, so that every refusal
        (unknown id, missing rights) is audited and mapped like a unary call's; later
        messages flow straight from the servicer."""
        # The servicer's stream method is an async generator taking the final Call.
        generate = cast(Callable[[Call, Context], AsyncIterator[Message]], handler.unary_stream)

        async def opening(call: Call, ctx: Context) -> Message:
            stream = generate(call, ctx)
            first = await anext(stream)
            return cast(Message, _Opened(first, stream))

        chain = run_chain(self._layers, opening)

        async def behavior(raw: bytes, ctx: Context) -> AsyncIterator[Message]:
            opened = cast(_Opened, await chain(new_call(raw), ctx))
            yield opened.first
            try:
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
