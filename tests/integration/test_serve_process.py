"""`connector-gateway serve` as a real process: starts on defaults, stops cleanly on signals."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from tests.support.cli import run_cli
from tests.support.process import ANY_PORT, ProcessOutput

# A process still starting refuses connections: reconnect soon rather than after gRPC's
# default backoff of a second and more.
RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


async def wait_serving(address: str, timeout_s: float = 30) -> None:
    """Returns once the gateway at ``address`` reports SERVING: the health watch waits for
    the connection (``wait_for_ready``), then sends each change of status."""
    async with grpc.aio.insecure_channel(address, options=RECONNECT_OPTIONS) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(), timeout=timeout_s, wait_for_ready=True
        )
        try:
            async for reply in watch:
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    watch.cancel()
                    return
        except grpc.aio.AioRpcError as error:
            raise AssertionError(f"the gateway did not start serving: {error.code()}") from None
        raise AssertionError("the gateway's health watch ended before it was serving")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_serve_stops_gracefully_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    env = {**os.environ, **ANY_PORT, "CONNECTOR_GATEWAY_DATA_DIR": str(tmp_path / "var")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = ProcessOutput(process.stdout)
    try:
        address = (await output.serving()).grpc_address
        async with grpc.aio.insecure_channel(address) as channel:
            listed = await pb_grpc.ConnectorServiceStub(channel).ListConnectors(
                pb.ListConnectorsRequest(), timeout=5
            )
        assert len(listed.connectors) == 7
        # Refused call: leaves an audit row that must be flushed on shutdown.
        async with grpc.aio.insecure_channel(address) as channel:
            with pytest.raises(grpc.aio.AioRpcError):
                await pb_grpc.ConnectorServiceStub(channel).Execute(
                    pb.ExecuteRequest(connector_key="nope"), timeout=5
                )
        process.send_signal(sig)
        await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = await output.ended()
    assert process.returncode == 0, log
    assert "connector gateway stopped" in log
    assert (tmp_path / "var" / "gateway.db").exists()
    verify = await run_cli("audit", "verify", data_dir=Path(env["CONNECTOR_GATEWAY_DATA_DIR"]))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact: 1 rows" in verify.stdout
