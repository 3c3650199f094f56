"""The cheapest servers of the same API, each in its own process, until SIGTERM.

    python -m bench.echo_server PORT                 # (a): a canned ExecuteResponse
    python -m bench.echo_server PORT --vendor URL    # (a'): one vendor GET per call

Both serve only ``ConnectorService.Execute`` and the standard health service, on a bare
``grpc.aio`` server: no authentication, audit, idempotency, tracing or validation. The proxy
(a') passes the vendor's JSON answer back as the result, as the gateway does.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import grpc
from grpc_health.v1 import health_pb2_grpc

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.health_service import SERVING, HealthService
from gateway.methods import CONNECTOR_SERVICE

SERVING_LINE = "bench server serving gRPC on "

Execute = Callable[[pb.ExecuteRequest, Any], Awaitable[pb.ExecuteResponse]]


def canned_response() -> pb.ExecuteResponse:
    response = pb.ExecuteResponse(execution_id="exe_canned", attempts=1)
    response.result.update({"id": "item-1", "name": "Loopback widget", "price_minor": 1250})
    return response


def echo() -> Execute:
    """(a): answers every Execute with the same canned response."""
    response = canned_response()

    async def execute(request: pb.ExecuteRequest, context: Any) -> pb.ExecuteResponse:
        return response

    return execute


def vendor_proxy(session: aiohttp.ClientSession, vendor_url: str) -> Execute:
    """(a'): one GET to the vendor per Execute, its JSON body as the result."""
    base = vendor_url.rstrip("/")

    async def execute(request: pb.ExecuteRequest, context: Any) -> pb.ExecuteResponse:
        item_id = request.payload.fields["item_id"].string_value
        async with session.get(f"{base}/v1/items/{item_id}") as answer:
            answer.raise_for_status()
            body = await answer.json()
        response = pb.ExecuteResponse(execution_id="exe_proxied", attempts=1)
        response.result.update(body)
        return response

    return execute


def execute_only(execute: Execute) -> grpc.GenericRpcHandler[Any, Any]:
    """ConnectorService with Execute alone; its other methods answer UNIMPLEMENTED."""
    handler = grpc.unary_unary_rpc_method_handler(
        execute,
        request_deserializer=pb.ExecuteRequest.FromString,
        response_serializer=pb.ExecuteResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(CONNECTOR_SERVICE, {"Execute": handler})


async def serve(port: int, vendor_url: str | None) -> None:
    session = aiohttp.ClientSession() if vendor_url else None
    server = grpc.aio.server()
    execute = vendor_proxy(session, vendor_url) if session and vendor_url else echo()
    server.add_generic_rpc_handlers((execute_only(execute),))
    health = HealthService()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await health.set(CONNECTOR_SERVICE, SERVING)
    print(f"{SERVING_LINE}127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1)
    if session is not None:
        await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_server")
    parser.add_argument("port", type=int)
    parser.add_argument("--vendor", help="the loopback vendor's base URL: makes it (a')")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.vendor))


if __name__ == "__main__":
    main()
