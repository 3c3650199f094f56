"""A real gateway on loopback for tests, with its stub and its audit rows."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.plugins import PLUGINS
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.app import Gateway
from gateway.clock import Clocks
from gateway.interceptors.base import Layer
from gateway.plugin import ConnectorPlugin
from gateway.registry import Connector
from gateway.settings import Settings
from tests.support.waiting import wait_until


def gateway_settings(
    data_dir: Path, *, model: type[Settings] = Settings, **overrides: Any
) -> Settings:
    """Settings for a test gateway; ``model`` is the settings model of another plugin list
    (``gateway.settings.settings_model``)."""
    base: dict[str, Any] = {
        "grpc_address": "127.0.0.1:0",
        "http_address": "127.0.0.1:0",
        "data_dir": data_dir,
        "shutdown_grace_s": 2.0,
        "health": {"probe_interval_s": 0},
        # Declared backoffs (1, 2, 4 s) scaled down: tests never sleep for real.
        "reliability": {"backoff_scale": 0.001},
    }
    base.update(overrides)
    return model(**base)


class FinishedSpans(InMemorySpanExporter):
    """The spans the gateway finished. A refusal's status is sent before its span ends, so
    a test that reads a refusal's span waits for it."""

    def __init__(self) -> None:
        super().__init__()
        self._loop = asyncio.get_running_loop()
        self._exported = asyncio.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = super().export(spans)
        self._loop.call_soon_threadsafe(self._exported.set)
        return result

    async def wait_for(self, count: int, *, timeout_s: float = 10.0) -> tuple[ReadableSpan, ...]:
        """The finished spans, once there are at least ``count``."""
        try:
            async with asyncio.timeout(timeout_s):
                while len(self.get_finished_spans()) < count:
                    self._exported.clear()
                    await self._exported.wait()
        except TimeoutError:
            found = len(self.get_finished_spans())
            raise AssertionError(
                f"{found} finished spans, not {count}, within {timeout_s} s"
            ) from None
        return self.get_finished_spans()


@dataclass
class RunningGateway:
    gateway: Gateway
    channel: grpc.aio.Channel
    stub: pb_grpc.ConnectorServiceStub
    spans: FinishedSpans

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gateway.grpc_port}"

    def audit_rows(self) -> list[dict[str, Any]]:
        with sqlite3.connect(self.gateway.settings.database_path) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM audit_events ORDER BY seq")]

    async def wait_audit_rows(self, count: int, *, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """The audit rows once there are at least ``count``: for rows that no reply waits
        for, such as the outcome of a call whose caller went away."""

        def enough() -> list[dict[str, Any]] | None:
            rows = self.audit_rows()
            return rows if len(rows) >= count else None

        return await wait_until(enough, timeout_s=timeout_s, what=f"{count} audit rows")


@asynccontextmanager
async def running_gateway(
    settings: Settings,
    *,
    plugins: Sequence[ConnectorPlugin[Any]] = PLUGINS,
    connectors: Sequence[Connector] | None = None,
    wrap_layers: Callable[[list[Layer]], list[Layer]] | None = None,
    clocks: Clocks | None = None,
) -> AsyncIterator[RunningGateway]:
    spans = FinishedSpans()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    gateway = Gateway(
        settings,
        plugins=plugins,
        connectors=connectors,
        tracer_provider=provider,
        wrap_layers=wrap_layers,
        clocks=clocks,
    )
    await gateway.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}")
    try:
        yield RunningGateway(gateway, channel, pb_grpc.ConnectorServiceStub(channel), spans)
    finally:
        await channel.close()
        await gateway.stop(grace_s=1.0)
