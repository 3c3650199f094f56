"""Idempotency keys, circuit breaking and rate limits, seen from the agent's side."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.call import Call, Context
from gateway.canonical import sha256_hex
from gateway.clock import utc_now
from gateway.errors import VendorUnavailable
from gateway.interceptors.base import Layer, Next
from gateway.registry import Connector
from gateway.store.ledger import NewExecution
from tests.support.cli import run_cli
from tests.support.clock import ManualClock
from tests.support.fake_adapter import FakeAdapter, LookupFakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.support.waiting import wait_event


def echo(key: str, text: str = "hi", operation: str = "echo") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation=operation, idempotency_key=key)
    request.payload.update({"text": text})
    return request


async def start(
    tmp_path: Path, fake: FakeAdapter, *, clock: ManualClock | None = None, **overrides: Any
) -> Any:
    settings = gateway_settings(tmp_path, **overrides)
    return running_gateway(
        settings,
        connectors=[Connector(fake, registered=True)],
        clocks=clock.clocks if clock else None,
    )


class Arrivals:
    """Counts the calls that reach the replay layer, where a key is looked up."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.all_in = asyncio.Event()

    def wrap(self, layers: list[Layer]) -> list[Layer]:
        return [Counted(layer, self) if layer.name == "replay" else layer for layer in layers]


class Counted:
    def __init__(self, inner: Layer, arrivals: Arrivals) -> None:
        self.name = inner.name
        self._inner = inner
        self._arrivals = arrivals

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        self._arrivals.count += 1
        if self._arrivals.count >= self._arrivals.expected:
            self._arrivals.all_in.set()
        return await self._inner.intercept(call, call_next, ctx)


async def test_hundred_concurrent_calls_one_key_make_one_vendor_call(
    tmp_path: Path, fake: FakeAdapter
) -> None:
    arrivals = Arrivals(100)
    fake.hold = asyncio.Event()  # the first call stays at the vendor until all have arrived
    async with running_gateway(
        gateway_settings(tmp_path),
        connectors=[Connector(fake, registered=True)],
        wrap_layers=arrivals.wrap,
    ) as fake_gateway:
        calls = asyncio.gather(
            *(fake_gateway.stub.Execute(echo("same-key"), timeout=30) for _ in range(100))
        )
        await wait_event(arrivals.all_in, timeout_s=30, what="all 100 calls")
        await wait_event(fake.entered, what="one call at the vendor")
        assert len(fake.calls) == 1
        fake.hold.set()
        responses = await calls
        events = [r["event_type"] for r in fake_gateway.audit_rows()]
    assert len(fake.calls) == 1
    assert {r.execution_id for r in responses} == {responses[0].execution_id}
    assert {r.result.SerializeToString(deterministic=True) for r in responses} == {
        responses[0].result.SerializeToString(deterministic=True)
    }
    assert sum(not r.replayed for r in responses) == 1
    assert events.count("execution_requested") == 1
    assert events.count("echoed") == 1
    assert events.count("execution_replayed") == 99


async def test_repeat_replays_and_different_payload_is_refused(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    first = await fake_gateway.stub.Execute(echo("k1"), timeout=5)
    again = await fake_gateway.stub.Execute(echo("k1"), timeout=5)
    assert (again.execution_id, again.replayed, first.replayed) == (first.execution_id, True, False)
    assert again.result == first.result
    assert len(fake.calls) == 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(echo("k1", text="other"), timeout=5)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED")
    assert len(fake.calls) == 1
    # The approval id is not part of the fingerprint: it does not make a new request.
    with_approval = echo("k1")
    with_approval.approval_id = "apr_" + "1" * 24
    assert (await fake_gateway.stub.Execute(with_approval, timeout=5)).replayed


async def test_write_that_may_have_acted_is_not_retried_and_is_listed(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    # A 502 from a proxy: the vendor may have acted, and echo has no vendor-side key.
    fake.failures = [VendorUnavailable("bad gateway", may_have_acted=True)] * 4
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(echo("k-unknown"), timeout=5)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert seen.metadata["cause"] == "VENDOR_UNAVAILABLE"
    assert len(fake.calls) == 1  # never repeated blindly
    [_, outcome] = fake_gateway.audit_rows()
    assert (outcome["event_type"], outcome["outcome"]) == ("echo_failed", "unknown")
    # A replay does not touch the vendor either, and still says the outcome is unknown.
    with pytest.raises(grpc.aio.AioRpcError) as replay:
        await fake_gateway.stub.Execute(echo("k-unknown"), timeout=5)
    assert refusal(replay.value).reason == "OUTCOME_UNKNOWN"
    assert len(fake.calls) == 1
    # Operators see it listed.
    ran = await run_cli(
        "--address",
        fake_gateway.address,
        "executions",
        "list",
        "--status",
        "unknown",
        "--json",
        data_dir=fake_gateway.gateway.settings.data_dir,
    )
    [listed] = json.loads(ran.stdout)
    assert (listed["idempotency_key"], listed["operation"]) == ("k-unknown", "echo")


async def test_circuit_opens_fails_fast_and_recovers_after_trial(
    tmp_path: Path, fake: FakeAdapter
) -> None:
    clock = ManualClock()
    async with await start(
        tmp_path, fake, clock=clock, reliability={"backoff_scale": 0.001, "breaker_open_s": 30}
    ) as gw:
        fake.failures = [VendorUnavailable("down") for _ in range(5)]
        request = echo("k-a")
        request.operation = "lookup"  # a read: retried until the breaker opens
        request.idempotency_key = ""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(request, timeout=5)
        # 4 attempts (3 retries) failed; one more failure opens the circuit.
        assert len(fake.calls) == 4
        with pytest.raises(grpc.aio.AioRpcError):
            await gw.stub.Execute(request, timeout=5)
        assert len(fake.calls) == 5
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(echo("k-b"), timeout=5)
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNAVAILABLE, "CIRCUIT_OPEN")
        assert seen.retry_delay_ms == 30_000  # the whole open period is still ahead
        assert seen.trailers["grpc-retry-pushback-ms"] == "30000"
        assert len(fake.calls) == 5  # failed fast: the vendor was not called
        health = await gw.stub.Health(pb.HealthRequest(connector_key="fake"), timeout=5)
        assert health.connectors[0].circuit_state == pb.CIRCUIT_STATE_OPEN
        assert health.connectors[0].status == pb.CONNECTOR_STATUS_ERROR
        metrics = await gw.stub.Metrics(pb.MetricsRequest(connector_key="fake"), timeout=5)
        assert metrics.connectors[0].circuit_state == pb.CIRCUIT_STATE_OPEN

        clock.advance(29.9)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(echo("k-b"), timeout=5)
        assert refusal(caught.value).retry_delay_ms == 100
        assert len(fake.calls) == 5
        clock.advance(0.1)  # open period over: the next call is the trial
        # Re-sent with the same key: nothing was stored for the refused call, so it runs.
        recovered = await gw.stub.Execute(echo("k-b"), timeout=5)
        assert not recovered.replayed
        assert len(fake.calls) == 6
        health = await gw.stub.Health(pb.HealthRequest(connector_key="fake"), timeout=5)
        assert health.connectors[0].circuit_state == pb.CIRCUIT_STATE_CLOSED
        # Closed again, but two of the window's three calls failed at the vendor.
        assert health.connectors[0].status == pb.CONNECTOR_STATUS_DEGRADED
        assert health.connectors[0].recent_calls == 3
        refused = [r for r in gw.audit_rows() if r["reason"] == "CIRCUIT_OPEN"]
        assert [r["outcome"] for r in refused] == ["refused", "refused"]


async def test_rate_limit_waits_within_deadline_or_refuses(
    tmp_path: Path, fake: FakeAdapter
) -> None:
    quota = {"fake": {"per_second": 0.5, "burst": 1}}
    clock = ManualClock()
    async with await start(tmp_path, fake, clock=clock, reliability={"rate_limits": quota}) as gw:
        await gw.stub.Execute(echo("r1"), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(echo("r2"), timeout=1)  # the next token is 2 s away
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
        assert seen.retry_delay_ms == 2000
        assert seen.trailers["grpc-retry-pushback-ms"] == "2000"
        assert len(fake.calls) == 1
        # Same key, once the cause has cleared: runs normally (nothing was stored).
        clock.advance(2)
        waited = await gw.stub.Execute(echo("r2"), timeout=5)
        assert not waited.replayed
        assert len(fake.calls) == 2
        # A wait that fits in the deadline is waited for, not refused.
        clock.advance(1.99)  # the next token is 10 ms away
        waited = await gw.stub.Execute(echo("r3"), timeout=5)
        assert not waited.replayed
        assert len(fake.calls) == 3


async def test_expired_keys_are_pruned_and_free_again(tmp_path: Path, fake: FakeAdapter) -> None:
    async with await start(
        tmp_path, fake, reliability={"backoff_scale": 0.001, "idempotency_ttl_s": 60}
    ) as gw:
        await gw.stub.Execute(echo("old"), timeout=5)
        assert await gw.gateway.ledger.prune() == 0  # not expired yet
        assert await gw.gateway.ledger.prune(now=utc_now() + timedelta(seconds=61)) == 1
        reused = await gw.stub.Execute(echo("old", text="a new request"), timeout=5)
        assert not reused.replayed
        assert len(fake.calls) == 2


async def test_compensate_twice_undoes_once(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    done = await fake_gateway.stub.Execute(echo("c1"), timeout=5)

    def undo(key: str) -> pb.CompensateRequest:
        return pb.CompensateRequest(execution_id=done.execution_id, reason="r", idempotency_key=key)

    first, second = await asyncio.gather(
        fake_gateway.stub.Compensate(undo("u1"), timeout=5),
        fake_gateway.stub.Compensate(undo("u2"), timeout=5),
    )
    third = await fake_gateway.stub.Compensate(undo("u3"), timeout=5)
    assert [c[0] for c in fake.calls] == ["echo", "unecho"]
    assert sorted([first.replayed, second.replayed, third.replayed]) == [False, True, True]
    assert first.result == second.result == third.result
    events = [r["event_type"] for r in fake_gateway.audit_rows()]
    assert events.count("workflow_compensated") == 1
    assert events.count("execution_replayed") == 2


async def test_unknown_outcome_is_reconciled_by_asking_the_vendor(tmp_path: Path) -> None:
    lookup = LookupFakeAdapter()
    async with await start(tmp_path, lookup) as gw:
        lookup.lose_answers = 1  # the vendor acts, then the answer is lost
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(echo("rk-1"), timeout=5)
        assert refusal(caught.value).reason == "OUTCOME_UNKNOWN"
        # The agent repeats with the same key: the gateway asks the vendor instead of acting.
        answered = await gw.stub.Execute(echo("rk-1"), timeout=5)
        assert answered.replayed
        assert answered.result["echo"]["text"] == "hi"
        assert (len(lookup.calls), lookup.lookups) == (1, 1)
        assert gw.audit_rows()[-1]["event_type"] == "execution_reconciled"
        # From now on it is an ordinary stored answer.
        again = await gw.stub.Execute(echo("rk-1"), timeout=5)
        assert again.replayed
        assert (again.execution_id, lookup.lookups) == (answered.execution_id, 1)


async def test_reconciliation_that_finds_nothing_runs_the_request(tmp_path: Path) -> None:
    lookup = LookupFakeAdapter()
    async with await start(tmp_path, lookup) as gw:
        lookup.failures = [VendorUnavailable("reset before acting", may_have_acted=True)]
        with pytest.raises(grpc.aio.AioRpcError):
            await gw.stub.Execute(echo("rk-2"), timeout=5)
        ran = await gw.stub.Execute(echo("rk-2"), timeout=5)  # the vendor never acted
        assert not ran.replayed
        assert (len(lookup.calls), lookup.lookups, len(lookup.acted)) == (2, 1, 1)


async def test_in_flight_record_no_call_holds_answers_unknown(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    """A reservation left behind by a call cancelled at the worst moment (its commit landed,
    its caller was gone) is of unknown outcome, never an internal error or a second call."""
    gateway = fake_gateway.gateway
    digest = sha256_hex({"text": "hi"})
    await gateway.ledger.reserve(
        key="orphan",
        fingerprint=sha256_hex(
            {"connector_key": "fake", "operation": "echo", "payload_digest": digest}
        ),
        execution=NewExecution(
            "ex-orphan", "default", "local-agent", "fake", "echo", "orphan", digest, "local-agent"
        ),
        owner=gateway.instance_id,
        ttl_s=60,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fake_gateway.stub.Execute(echo("orphan"), timeout=5)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert seen.metadata["execution_id"] == "ex-orphan"
    assert fake.calls == []
