"""A connector whose vendor starts failing, as the board and the standard health service show
it: ok -> degraded -> error, and ok again once the vendor recovers.

The vendor is ``tests.support.fault_vendor`` behind the HTTP fake connector (``faulty``), and
the thresholds are set small: degraded at half of the last 4 calls failing, the breaker open
after 3 failures in a row (30 s, on a clock the test moves).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.registry import Connector
from tests.support.clock import ManualClock
from tests.support.fault_vendor import FaultVendor, fault_vendor, status
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import call
from tests.support.http_fake_adapter import HttpFakeAdapter
from tests.support.rpc import refusal

BOARD = "/api/v1/connectors/governance"
SERVICE = "connector.faulty"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
UNKNOWN = health_pb2.HealthCheckResponse.UNKNOWN
BOOM = {"error": {"code": "boom", "message": "jane@example.org broke it"}}


@dataclass
class Rig:
    gw: RunningGateway
    vendor: FaultVendor
    clock: ManualClock


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = ManualClock()
    async with fault_vendor() as vendor:
        settings = gateway_settings(
            tmp_path,
            health={"probe_interval_s": 0, "window_calls": 4, "degraded_failure_ratio": 0.5},
            reliability={
                "backoff_scale": 0.001,
                "breaker_failure_threshold": 3,
                "breaker_open_s": 30,
                "rate_limits": {"faulty": {"per_second": 1000, "burst": 1000}},
            },
        )
        connector = Connector(HttpFakeAdapter(vendor.url), registered=True)
        async with running_gateway(settings, connectors=[connector], clocks=clock.clocks) as gw:
            yield Rig(gw, vendor, clock)


def read() -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="faulty", operation="get")
    request.payload.update({"id": "obj_1"})
    return request


async def succeeds(r: Rig) -> None:
    before = len(r.vendor.requests)
    await r.gw.stub.Execute(read(), timeout=10)
    assert len(r.vendor.requests) == before + 1


async def fails(r: Rig, reason: str = "VENDOR_ERROR") -> None:
    before = len(r.vendor.requests)
    if reason != "CIRCUIT_OPEN":
        r.vendor.script(status(500, BOOM))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await r.gw.stub.Execute(read(), timeout=10)
    assert refusal(caught.value).reason == reason
    reached = 0 if reason == "CIRCUIT_OPEN" else 1  # a 500 on a read is not retried
    assert len(r.vendor.requests) == before + reached


async def board(r: Rig) -> dict[str, Any]:
    """The connector's entry, with the board's connector_health figure under ``figure``."""
    got = await call(r.gw, "GET", BOARD)
    assert got.status == 200, got
    [entry] = got.body["connectors"]
    assert got.body["total"] == 1
    return {**entry, "figure": got.body["connector_health"]["value"]}


class Watch:
    """An open ``grpc.health.v1.Health/Watch`` of one service."""

    def __init__(self, channel: grpc.aio.Channel, service: str) -> None:
        self._call = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=service), timeout=60
        )

    async def next(self) -> int:
        message = await asyncio.wait_for(self._call.read(), 10)
        assert isinstance(message, health_pb2.HealthCheckResponse), message
        return message.status

    def close(self) -> None:
        self._call.cancel()


async def check(r: Rig, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(r.gw.channel)
    answer = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return answer.status


async def test_ok_degraded_error_and_back_on_the_board_and_in_grpc_health(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        watch = Watch(r.gw.channel, SERVICE)
        try:
            assert await watch.next() == UNKNOWN  # nothing seen yet
            assert (await board(r))["status"] == "CONNECTOR_STATUS_UNKNOWN"

            await succeeds(r)
            assert await watch.next() == SERVING
            entry = await board(r)
            assert (entry["status"], entry["recent_calls"], entry["recent_error_rate"]) == (
                "CONNECTOR_STATUS_OK",
                1,
                0,
            )
            assert entry["last_success_at"] is not None
            assert entry["figure"] == "1.0000"  # the dictionary's connector_health

            # The vendor starts failing: half of the recent calls failed.
            await fails(r)
            entry = await board(r)
            assert (entry["status"], entry["recent_error_rate"]) == (
                "CONNECTOR_STATUS_DEGRADED",
                0.5,
            )
            assert entry["circuit_state"] == "CIRCUIT_STATE_CLOSED"
            assert entry["last_error"] == "VENDOR_ERROR (vendor status 500, vendor code boom)"
            assert "jane" not in str(entry)  # the vendor's words stay off the board
            assert await check(r, SERVICE) == SERVING  # degraded still serves

            # Three failures in a row open the breaker: error.
            await fails(r)
            await fails(r)
            assert await watch.next() == NOT_SERVING
            entry = await board(r)
            assert (entry["status"], entry["circuit_state"]) == (
                "CONNECTOR_STATUS_ERROR",
                "CIRCUIT_STATE_OPEN",
            )
            assert entry["recent_error_rate"] == 0.75
            assert entry["figure"] == "0.0000"
            await fails(r, "CIRCUIT_OPEN")  # fails fast: the vendor is not called
            assert await check(r, "") == SERVING  # the gateway itself still serves

            # The open period ends: a trial call may run, degraded.
            r.clock.advance(30)
            assert await watch.next() == SERVING  # the gateway re-derives every second
            assert (await board(r))["status"] == "CONNECTOR_STATUS_DEGRADED"

            # The vendor recovered: the failures leave the window one success at a time.
            await succeeds(r)
            entry = await board(r)
            assert (entry["status"], entry["circuit_state"]) == (
                "CONNECTOR_STATUS_DEGRADED",
                "CIRCUIT_STATE_CLOSED",
            )
            await succeeds(r)
            assert (await board(r))["status"] == "CONNECTOR_STATUS_DEGRADED"  # 2 of 4
            await succeeds(r)
            entry = await board(r)
            assert (entry["status"], entry["recent_error_rate"], entry["last_error"]) == (
                "CONNECTOR_STATUS_OK",
                0.25,
                "",
            )
            assert await check(r, SERVICE) == SERVING
        finally:
            watch.close()
        rows = r.gw.audit_rows()
        assert [row["reason"] for row in rows if row["outcome"] == "refused"] == ["CIRCUIT_OPEN"]


async def test_the_board_is_the_same_over_grpc_and_http(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await succeeds(r)
        await fails(r)
        over_grpc = await r.gw.stub.Health(pb.HealthRequest(), timeout=5)
        [entry] = over_grpc.connectors
        shown = await board(r)
        assert shown["status"] == pb.ConnectorStatus.Name(entry.status)
        assert shown["last_error"] == entry.last_error
        assert shown["recent_calls"] == entry.recent_calls == 2
        assert shown["latency_p95_ms"] == entry.latency_p95_ms > 0
        alias = await call(r.gw, "GET", "/v1/connectors/health")
        del shown["figure"]
        assert (alias.body["connectors"], alias.body["total"]) == ([shown], 1)
