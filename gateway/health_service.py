"""The standard ``grpc.health.v1.Health`` service, with watches that end on shutdown.

gRPC client-side health checking keeps a ``Watch`` stream open for the life of the channel.
grpcio's reference servicer tells watchers NOT_SERVING on shutdown but keeps their streams
open, so the server's graceful stop waited the whole grace period for them. Here a watch
sends its last status and ends once the gateway is shutting down: only calls in flight hold
the shutdown. A client that sees its watch end retries it with backoff, as the health
protocol asks, and finds the gateway gone or another replica serving.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
from grpc_health.v1 import health_pb2

if TYPE_CHECKING:
    Context = grpc.aio.ServicerContext[Any, Any]
else:  # grpc's classes are not generic at run time
    Context = grpc.aio.ServicerContext

Status: TypeAlias = health_pb2.HealthCheckResponse.ServingStatus
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class HealthService:
    """Serving status per service name (``""`` is the whole server); registered with
    ``health_pb2_grpc.add_HealthServicer_to_server``."""

    def __init__(self) -> None:
        self._statuses: dict[str, Status] = {"": SERVING}
        self._changed = asyncio.Condition()
        self._version = 0  # bumped on every change, so a watcher never misses one
        self._shutting_down = False

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: Context
    ) -> health_pb2.HealthCheckResponse:
        status = self._statuses.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def List(
        self, request: health_pb2.HealthListRequest, context: Context
    ) -> health_pb2.HealthListResponse:
        return health_pb2.HealthListResponse(
            statuses={
                service: health_pb2.HealthCheckResponse(status=status)
                for service, status in self._statuses.items()
            }
        )

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: Context) -> None:
        last: Status | None = None
        while True:
            version = self._version
            status = self._statuses.get(request.service, SERVICE_UNKNOWN)
            if status != last:
                await context.write(health_pb2.HealthCheckResponse(status=status))
                last = status
            if self._shutting_down and version == self._version:
                return  # NOT_SERVING was the last word; the stream must not hold the stop
            await self._changed_since(version)

    async def set(self, service: str, status: Status) -> None:
        """Sets a service's status; ignored once the gateway is shutting down."""
        await self._publish({service: status})

    async def enter_graceful_shutdown(self) -> None:
        """Every service NOT_SERVING for good; open watches send it and end."""
        await self._publish({}, shutting_down=True)

    async def _changed_since(self, version: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._version != version)

    async def _publish(self, statuses: dict[str, Status], *, shutting_down: bool = False) -> None:
        async with self._changed:
            if self._shutting_down:
                return
            # One step with no await: a watcher that reads this version reads these statuses
            # and this flag together.
            if shutting_down:
                self._shutting_down = True
                statuses = dict.fromkeys(self._statuses, NOT_SERVING)
            self._statuses.update(statuses)
            self._version += 1
            self._changed.notify_all()
