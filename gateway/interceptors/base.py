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


def run_chain(layers: Sequence[Layer], endpoint: Endpoint) -> Endpoint:
    """Composes layers (first entry outermost) around the servicer's method."""

    async def run(call: Call, ctx: Context) -> Message:
        async def step(index: int, current: Call) -> Message:
            if index == len(layers):
                return await endpoint(current, ctx)
            return await layers[index].intercept(current, lambda nxt: step(index + 1, nxt), ctx)

        return await step(0, call)

    return run
