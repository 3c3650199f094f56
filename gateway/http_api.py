"""The small HTTP side: a liveness endpoint and the connectors' health as JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from google.protobuf import json_format

from gateway.descriptors import health_entry
from gateway.health_state import HealthTracker
from gateway.identity import LOCAL_IDENTITY
from gateway.registry import Registry


def build_app(
    registry: Registry, health: HealthTracker, serving: Callable[[], bool]
) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        if serving():
            return web.Response(text="SERVING\n")
        return web.Response(status=503, text="NOT_SERVING\n")

    async def connectors(_: web.Request) -> web.Response:
        rows: list[dict[str, Any]] = []
        for connector in registry.all():
            state = await health.get(LOCAL_IDENTITY.tenant, connector.key)
            rows.append(
                json_format.MessageToDict(
                    health_entry(connector, LOCAL_IDENTITY.tenant, state),
                    preserving_proto_field_name=True,
                )
            )
        return web.json_response({"connectors": rows})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/v1/connectors/health", connectors)
    return app
