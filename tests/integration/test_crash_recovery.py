"""SIGKILL during a burst of keyed calls: nothing a client saw succeed is lost or repeated."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from tests.support.cli import run_cli
from tests.support.fault_vendor import FaultVendor, fault_vendor, slow
from tests.support.process import ANY_PORT, GatewayProcess, start_gateway_process
from tests.support.waiting import wait_event

pytestmark = pytest.mark.timeout(120)

CALLS = 200


def request(i: int) -> pb.ExecuteRequest:
    r = pb.ExecuteRequest(connector_key="faulty", operation="create", idempotency_key=f"k-{i}")
    r.payload.update({"amount": i + 1})
    return r


def succeeded_outcomes(data_dir: Path) -> set[str]:
    """The executions whose success row is in the database."""
    with sqlite3.connect(data_dir / "gateway.db") as conn:
        rows = conn.execute(
            "SELECT execution_id FROM audit_events WHERE event_type = 'execution_succeeded'"
        )
        return {row[0] for row in rows}


async def stop_gracefully(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 20) == 0


async def kill_if_running(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


async def assert_audit_chain_verifies(data_dir: Path) -> None:
    verify = await run_cli("audit", "verify", data_dir=data_dir)
    assert verify.returncode == 0, verify.stdout + verify.stderr


async def start_gateway(env: dict[str, str], vendor: FaultVendor) -> GatewayProcess:
    return await start_gateway_process("-m", "tests.support.serve_faulty", vendor.url, env=env)


async def test_sigkill_during_burst_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **ANY_PORT,
        "CONNECTOR_GATEWAY_DATA_DIR": str(tmp_path),
        "CONNECTOR_GATEWAY_HEALTH__PROBE_INTERVAL_S": "0",
        "CONNECTOR_GATEWAY_RELIABILITY__RATE_LIMITS": '{"faulty": {"per_second": 10000, '
        '"burst": 10000}}',
    }
    async with fault_vendor() as vendor:
        # Vendor answers are spread over about a second, so many calls are in flight at the
        # kill whatever the machine's load.
        vendor.script(*[slow(0.05 + i * 0.005) for i in range(CALLS)])
        gateway = await start_gateway(env, vendor)
        process, address = gateway.process, gateway.grpc_address
        try:
            succeeded: dict[int, pb.ExecuteResponse] = {}
            quarter_succeeded = asyncio.Event()
            async with grpc.aio.insecure_channel(address) as channel:
                stub = pb_grpc.ConnectorServiceStub(channel)

                async def one(i: int) -> None:
                    # A call cut off by the kill: the client saw no success.
                    with contextlib.suppress(grpc.aio.AioRpcError):
                        succeeded[i] = await stub.Execute(request(i), timeout=20)
                        if len(succeeded) >= CALLS // 4:
                            quarter_succeeded.set()

                calls = [asyncio.create_task(one(i)) for i in range(CALLS)]
                await wait_event(quarter_succeeded, timeout_s=60, what="a quarter of the calls")
                process.send_signal(signal.SIGKILL)
                await process.wait()
                await asyncio.gather(*calls)
            assert CALLS // 4 <= len(succeeded) < CALLS, "the kill must land mid-burst"

            # Every success the client saw has its durable outcome row.
            assert {r.execution_id for r in succeeded.values()} <= succeeded_outcomes(tmp_path)

            vendor_calls_before = Counter(r.json["amount"] for r in vendor.requests)
            gateway = await start_gateway(env, vendor)
            process, address = gateway.process, gateway.grpc_address
            replays: dict[int, pb.ExecuteResponse | str] = {}
            async with grpc.aio.insecure_channel(address) as channel:
                stub = pb_grpc.ConnectorServiceStub(channel)
                for i in range(CALLS):
                    try:
                        replays[i] = await stub.Execute(request(i), timeout=20)
                    except grpc.aio.AioRpcError as error:
                        replays[i] = error.code().name
            vendor_calls_after = Counter(r.json["amount"] for r in vendor.requests)

            for i, first in succeeded.items():
                replay = replays[i]
                assert isinstance(replay, pb.ExecuteResponse)
                assert replay.replayed
                assert replay.execution_id == first.execution_id
                # No second vendor call for any completed key.
                assert vendor_calls_after[i + 1] == vendor_calls_before[i + 1] == 1
            # Keys in flight at the kill have an unknown outcome: never sent again.
            for i, replay in replays.items():
                if i not in succeeded and vendor_calls_before[i + 1]:
                    assert replay in ("UNKNOWN",) or (
                        isinstance(replay, pb.ExecuteResponse) and replay.replayed
                    )
                    assert vendor_calls_after[i + 1] == vendor_calls_before[i + 1]
            await stop_gracefully(process)
        finally:
            await kill_if_running(process)
    await assert_audit_chain_verifies(Path(env["CONNECTOR_GATEWAY_DATA_DIR"]))


async def test_sigkill_between_calls_made_one_at_a_time_loses_no_outcome(tmp_path: Path) -> None:
    """One call at a time commits on the loop's thread: a success the client saw is durable
    all the same, and after the restart a repeat replays it without calling the vendor."""
    env = {
        **os.environ,
        **ANY_PORT,
        "CONNECTOR_GATEWAY_DATA_DIR": str(tmp_path),
        "CONNECTOR_GATEWAY_HEALTH__PROBE_INTERVAL_S": "0",
    }
    async with fault_vendor() as vendor:
        vendor.script(*[slow(0.02) for _ in range(CALLS)])
        gateway = await start_gateway(env, vendor)
        process, address = gateway.process, gateway.grpc_address
        try:
            succeeded: dict[int, pb.ExecuteResponse] = {}
            async with grpc.aio.insecure_channel(address) as channel:
                stub = pb_grpc.ConnectorServiceStub(channel)
                for i in range(CALLS):
                    call = asyncio.ensure_future(stub.Execute(request(i), timeout=20))
                    if len(succeeded) == 20:
                        await asyncio.sleep(0.01)  # the vendor is handling call 20
                        process.send_signal(signal.SIGKILL)
                        await process.wait()
                    try:
                        succeeded[i] = await call
                    except grpc.aio.AioRpcError:
                        break
            assert len(succeeded) == 20, "the kill must land while call 20 is under way"
            assert {r.execution_id for r in succeeded.values()} <= succeeded_outcomes(tmp_path)

            sent_before = Counter(r.json["amount"] for r in vendor.requests)
            gateway = await start_gateway(env, vendor)
            process, address = gateway.process, gateway.grpc_address
            async with grpc.aio.insecure_channel(address) as channel:
                stub = pb_grpc.ConnectorServiceStub(channel)
                for i, first in succeeded.items():
                    replay = await stub.Execute(request(i), timeout=20)
                    assert replay.replayed
                    assert replay.execution_id == first.execution_id
            assert Counter(r.json["amount"] for r in vendor.requests) == sent_before
            await stop_gracefully(process)
        finally:
            await kill_if_running(process)
    await assert_audit_chain_verifies(Path(env["CONNECTOR_GATEWAY_DATA_DIR"]))
