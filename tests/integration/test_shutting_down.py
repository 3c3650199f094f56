"""Stopping the gateway while calls wait inside it.

A call waiting for its retry, for a rate-limit token or for an earlier call with the same key
stops waiting as soon as the gateway begins to stop and is answered SHUTTING_DOWN: no vendor
attempt starts late in the grace period, and the wait does not hold the shutdown. The key is
freed when the vendor never acted, so the same request runs once after a restart; an attempt
already at the vendor finishes within the grace period.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

from gateway.call import Call, Context
from gateway.interceptors.base import Layer, Next
from gateway.registry import Connector
from tests.integration.reasons.observe import echo, fake_rig, refused_rpc
from tests.integration.reasons.vendors import BACKOFF_S, stop_during_backoff
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway

WAIT_S = 10  # bound on every wait for an event; the waits under test are far longer
GRACE_S = 60  # a grace period no test may come near


class Admissions:
    """The innermost layer: counts the calls the chain admitted to the servicer."""

    name = "admissions"

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Condition()

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        async with self._changed:
            self.count += 1
            self._changed.notify_all()
        return await call_next(call)

    async def reached(self, count: int) -> None:
        async with asyncio.timeout(WAIT_S), self._changed:
            await self._changed.wait_for(lambda: self.count >= count)


@asynccontextmanager
async def watched_gateway(
    tmp_path: Path, fake: FakeAdapter, **settings: Any
) -> AsyncIterator[tuple[RunningGateway, Admissions]]:
    admissions = Admissions()

    def innermost(layers: list[Layer]) -> list[Layer]:
        return [*layers, admissions]

    async with running_gateway(
        gateway_settings(tmp_path, **settings),
        connectors=[Connector(fake, registered=True)],
        wrap_layers=innermost,
    ) as gw:
        yield gw, admissions


async def test_a_retry_waiting_when_the_gateway_stops_is_answered_at_once_and_runs_after_restart(
    tmp_path: Path,
) -> None:
    stopped = await stop_during_backoff(tmp_path)
    seen = stopped.seen
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
    assert seen.retry_delay_ms is not None
    assert stopped.stop_took_s < BACKOFF_S / 2
    assert len(stopped.fake.calls) == 1  # no second attempt started
    outcome = seen.audit_row()
    assert (outcome["event_type"], outcome["outcome"]) == ("echo_failed", "failed")
    # The vendor never acted, so the key was freed: after a restart on the same data, the
    # same request (same key) runs, once.
    async with fake_rig(tmp_path) as (gw, fake):
        ran = await gw.stub.Execute(echo("k1"), timeout=10)
        again = await gw.stub.Execute(echo("k1"), timeout=10)
        assert (ran.replayed, again.replayed) == (False, True)
        assert again.execution_id == ran.execution_id
        assert len(fake.calls) == 1


async def test_a_call_waiting_for_a_rate_limit_token_is_answered_shutting_down(
    tmp_path: Path,
) -> None:
    fake = FakeAdapter()
    limits = {"fake": {"per_second": 0.05, "burst": 1}}  # the next token in 20 s
    async with watched_gateway(tmp_path, fake, reliability={"rate_limits": limits}) as (
        gw,
        admissions,
    ):
        await gw.stub.Execute(echo("k1"), timeout=10)
        waiting = asyncio.ensure_future(gw.stub.Execute(echo("k2"), timeout=60))
        await admissions.reached(2)
        stopping = asyncio.ensure_future(gw.gateway.stop(grace_s=GRACE_S))
        seen = await refused_rpc(asyncio.wait_for(waiting, WAIT_S), gw)
        await asyncio.wait_for(stopping, WAIT_S)
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
        assert seen.metadata["attempts"] == "0"
        assert seen.retry_delay_ms is not None
        assert len(fake.calls) == 1
        assert seen.audit_row()["event_type"] == "request_rejected"
    async with fake_rig(tmp_path) as (gw, fake):
        ran = await gw.stub.Execute(echo("k2"), timeout=10)
        assert (ran.replayed, len(fake.calls)) == (False, 1)


async def test_a_repeat_waiting_for_the_first_call_is_answered_and_the_first_call_finishes(
    tmp_path: Path,
) -> None:
    fake = FakeAdapter()
    fake.hold = asyncio.Event()
    async with watched_gateway(tmp_path, fake) as (gw, admissions):
        first = asyncio.ensure_future(gw.stub.Execute(echo("k1"), timeout=60))
        await asyncio.wait_for(fake.entered.wait(), WAIT_S)  # at the vendor
        repeat = asyncio.ensure_future(gw.stub.Execute(echo("k1"), timeout=60))
        await admissions.reached(2)  # waiting for the first call with its key
        stopping = asyncio.ensure_future(gw.gateway.stop(grace_s=GRACE_S))
        seen = await refused_rpc(asyncio.wait_for(repeat, WAIT_S), gw)
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
        assert seen.metadata == {"idempotency_key": "k1", "attempts": "0"}
        assert not stopping.done()  # the attempt at the vendor holds the stop, as it may
        fake.hold.set()
        ran = await asyncio.wait_for(first, WAIT_S)
        await asyncio.wait_for(stopping, WAIT_S)
        assert (ran.attempts, len(fake.calls)) == (1, 1)
    async with fake_rig(tmp_path) as (gw, fake):
        replayed = await gw.stub.Execute(echo("k1"), timeout=10)
        assert (replayed.replayed, replayed.execution_id) == (True, ran.execution_id)
        assert fake.calls == []
