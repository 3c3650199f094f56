"""Shutdown of a real gateway process while clients watch its health.

gRPC client-side health checking keeps a ``grpc.health.v1.Health/Watch`` stream open for as
long as the channel lives. On SIGTERM the watcher must see NOT_SERVING and its stream must
end, so that only calls still in flight hold the shutdown (up to ``shutdown_grace_s``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from tests.support.fault_vendor import fault_vendor, held
from tests.support.process import ANY_PORT, GatewayProcess, start_gateway_process

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
# The default shutdown_grace_s, left unset: the bug this guards against waited all of it.
DEFAULT_GRACE_S = 10.0
# The vendor holds the call while the test watches the shutdown: longer than that could take.
ATTEMPT_TIMEOUT_MS = "60000"


def gateway_env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        **ANY_PORT,
        "CONNECTOR_GATEWAY_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_GATEWAY_HEALTH__PROBE_INTERVAL_S": "0",
    }
    env.pop("CONNECTOR_GATEWAY_SHUTDOWN_GRACE_S", None)
    return env


@asynccontextmanager
async def gateway_process(env: dict[str, str], *args: str) -> AsyncIterator[GatewayProcess]:
    gateway = await start_gateway_process(*args, env=env)
    try:
        yield gateway
    finally:
        if gateway.process.returncode is None:
            gateway.process.kill()
            await gateway.process.wait()


class Watcher:
    """One open Health/Watch stream, as gRPC client-side health checking keeps it."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._call = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=60
        )

    async def next_status(self) -> int:
        reply = await asyncio.wait_for(self._call.read(), 20)
        assert reply is not grpc.aio.EOF, "the watch ended before sending a status"
        return int(reply.status)

    async def ended(self) -> None:
        """Returns once the stream is over, however the server ended it."""
        try:
            while await asyncio.wait_for(self._call.read(), 20) is not grpc.aio.EOF:
                pass
        except grpc.aio.AioRpcError:
            pass


async def test_an_open_health_watch_does_not_hold_the_shutdown(tmp_path: Path) -> None:
    async with (
        gateway_process(gateway_env(tmp_path), "-m", "gateway.cli", "serve") as gateway,
        grpc.aio.insecure_channel(gateway.grpc_address) as channel,
    ):
        watcher = Watcher(channel)
        assert await watcher.next_status() == SERVING
        signalled = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        assert await watcher.next_status() == NOT_SERVING
        returncode = await asyncio.wait_for(gateway.process.wait(), DEFAULT_GRACE_S + 20)
        exited_after_s = time.monotonic() - signalled
        await watcher.ended()
    log = await gateway.output.ended()
    assert returncode == 0, log
    assert "connector gateway stopped" in log
    # Nothing was in flight: the 10 s grace period is not waited for (half of it bounds a
    # stop on a loaded machine with room to spare).
    assert exited_after_s < DEFAULT_GRACE_S / 2, f"took {exited_after_s:.2f} s to stop\n{log}"


async def test_a_call_in_flight_still_holds_the_shutdown_until_it_finishes(
    tmp_path: Path,
) -> None:
    env = gateway_env(tmp_path)
    async with fault_vendor() as vendor:
        vendor.script(held())  # the vendor answers when the test releases it
        async with (
            gateway_process(
                env, "-m", "tests.support.serve_faulty", vendor.url, ATTEMPT_TIMEOUT_MS
            ) as gateway,
            grpc.aio.insecure_channel(gateway.grpc_address) as channel,
        ):
            process = gateway.process
            watcher = Watcher(channel)
            assert await watcher.next_status() == SERVING
            request = pb.ExecuteRequest(
                connector_key="faulty", operation="create", idempotency_key="in-flight"
            )
            request.payload.update({"amount": 1})
            call = asyncio.ensure_future(
                pb_grpc.ConnectorServiceStub(channel).Execute(request, timeout=30)
            )
            reached = asyncio.ensure_future(vendor.wait_requests(1, timeout_s=20))
            done, _ = await asyncio.wait([call, reached], return_when=asyncio.FIRST_COMPLETED)
            if call in done:
                reached.cancel()
                raise AssertionError(f"answered without reaching the vendor: {call}")
            await reached

            process.send_signal(signal.SIGTERM)
            assert await watcher.next_status() == NOT_SERVING
            await watcher.ended()
            # The watch is over, the call is not, and the process waits for it.
            assert process.returncode is None
            assert not call.done()
            vendor.release()
            reply = await call
            assert reply.attempts == 1
            returncode = await asyncio.wait_for(process.wait(), DEFAULT_GRACE_S + 20)
    log = await gateway.output.ended()
    assert returncode == 0, log
    assert len(vendor.requests) == 1
