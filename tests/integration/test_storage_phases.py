"""A governed write is two units of work: what must be durable before the vendor is called
(the key, the execution, the requested row) commits at once, and so does what must be durable
before the answer (the stored answer, the outcome row). Seen from another connection, as an
operator's tool or a second gateway process would see the database."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.waiting import wait_until


def echo(key: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key=key)
    request.payload.update({"text": "hi"})
    return request


def committed(path: Path, key: str) -> tuple[list[str], list[str]]:
    """The key's record state and the audit events, as committed."""
    with sqlite3.connect(path) as conn:
        states = [
            state
            for (state,) in conn.execute(
                "SELECT state FROM idempotency_records WHERE idempotency_key = ?", (key,)
            )
        ]
        events = [e for (e,) in conn.execute("SELECT event_type FROM audit_events ORDER BY seq")]
    return states, events


async def test_the_key_and_the_requested_row_are_durable_before_the_vendor_acts(
    tmp_path: Path,
) -> None:
    fake = FakeAdapter()
    fake.hold = asyncio.Event()
    settings = gateway_settings(tmp_path)
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        call = asyncio.ensure_future(gw.stub.Execute(echo("k1"), timeout=10))
        await asyncio.wait_for(fake.entered.wait(), timeout=10)
        # The vendor is handling the request: a crash now must find the key in flight and
        # the requested row written.
        assert committed(settings.database_path, "k1") == (["in_flight"], ["execution_requested"])
        fake.hold.set()
        answer = await call
        assert answer.execution_id
        states, events = committed(settings.database_path, "k1")
        assert states == ["completed"]
        assert events == ["execution_requested", "echoed"]  # the operation's own event


async def _commits_of(gw: RunningGateway, request: pb.ExecuteRequest) -> int:
    writes = gw.gateway.database.writes
    before = writes.commits
    await gw.stub.Execute(request, timeout=10)
    await writes.drain()
    return writes.commits - before


async def test_one_call_commits_once_per_phase(tmp_path: Path) -> None:
    fake = FakeAdapter()
    async with running_gateway(
        gateway_settings(tmp_path), connectors=[Connector(fake, registered=True)]
    ) as gw:
        await gw.stub.Execute(echo("warm-up"), timeout=10)
        # A write: its reservation with the requested row, then its answer with the outcome.
        assert await _commits_of(gw, echo("k2")) == 2
        # A replay reads the stored answer and commits only its audit row.
        assert await _commits_of(gw, echo("k2")) == 1
        # A read acts on nothing: it does not wait for its requested row, which commits in
        # the background or with its outcome row.
        lookup = pb.ExecuteRequest(connector_key="fake", operation="lookup")
        lookup.payload.update({"text": "hi"})
        assert await _commits_of(gw, lookup) <= 2
        assert len(fake.calls) == 3
        events = committed(gw.gateway.settings.database_path, "")[1]
        assert events[-2:] == ["execution_requested", "execution_succeeded"]


async def test_a_refusal_before_the_vendor_leaves_no_reservation(tmp_path: Path) -> None:
    """The rate limit refuses after the key was taken in the unit: the unit frees it again,
    and nothing of the refused call but its refusal row is ever committed."""
    fake = FakeAdapter()
    settings = gateway_settings(
        tmp_path, reliability={"rate_limits": {"fake": {"per_second": 0.001, "burst": 1}}}
    )
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        await gw.stub.Execute(echo("first"), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await gw.stub.Execute(echo("second"), timeout=0.5)
        assert refused.value.code() in (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.DEADLINE_EXCEEDED,
        )
        states, events = committed(settings.database_path, "second")
        assert states == []
        assert "execution_requested" not in events[2:]
        assert len(fake.calls) == 1


async def test_rows_written_in_calls_are_anchored_every_so_many_rows(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, audit={"anchor_every_rows": 4, "anchor_every_s": 3600})
    async with running_gateway(
        settings, connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        for index in range(3):
            await gw.stub.Execute(echo(f"a{index}"), timeout=10)

        def anchored() -> int:
            with sqlite3.connect(settings.database_path) as conn:
                row = conn.execute("SELECT MAX(event_seq) FROM audit_anchors").fetchone()
            return int(row[0] or 0)

        assert await wait_until(anchored, what="an anchor over the calls' rows") >= 4
