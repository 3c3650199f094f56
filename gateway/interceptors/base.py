"""The chain of short layers: what a layer is, and how layers compose around an endpoint.

Every layer reads like ``async def intercept(call, call_next, ctx)``; nothing here knows a
protocol. The bindings (``gateway.api.grpc``, ``gateway.api.http``) build the ``Call`` and
run the same chain around the servicers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from google.protobuf.message import Message

from gateway.call import Call, Context

Next = Callable[[Call], Awaitable[Message]]


class Layer(Protocol):
    name: str

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message: ...


Endpoint = Callable[[Call, Context], Awaitable[Message]]


class InFlight:
    """How many governed calls are in the chain now, over gRPC and HTTP together: the store
    commits on the loop's thread while a call is alone (``SerializedConnection.quiet``)."""

    def __init__(self) -> None:
        self.calls = 0

    def alone(self) -> bool:
        return self.calls <= 1


def run_chain(
    layers: Sequence[Layer], endpoint: Endpoint, in_flight: InFlight | None = None
) -> Endpoint:
    """Composes layers (first entry outermost) around the servicer's method."""
    counted = in_flight or InFlight()

    async def run(call: Call, ctx: Context) -> Message:
        async def step(index: int, current: Call) -> Message:
            if index == len(layers):
                return await endpoint(current, ctx)
            return await layers[index].intercept(current, lambda nxt: step(index + 1, nxt), ctx)

        counted.calls += 1
        try:
            return await step(0, call)
        finally:
            counted.calls -= 1

    return run
