"""The gateway against a fault-injecting vendor on loopback: for each fault, the exact number
of vendor calls, the status and reason the agent saw, and the audit rows.

Operations of the fake connector: ``charge`` (the vendor deduplicates by Idempotency-Key),
``create`` (no vendor-side key: the gateway alone prevents duplicates) and ``get`` (a read).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.registry import Connector
from gateway.store.ledger import ExecutionStatus
from tests.support.fault_vendor import (
    FaultVendor,
    fault_vendor,
    malformed_json,
    reset_after,
    reset_before,
    slow,
    status,
)
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http_fake_adapter import HttpFakeAdapter
from tests.support.rpc import Refusal, refusal

pytestmark = pytest.mark.timeout(30)


@dataclass
class Rig:
    gw: RunningGateway
    vendor: FaultVendor

    async def call(
        self, operation: str, key: str = "k1", timeout: float = 5, **payload: Any
    ) -> pb.ExecuteResponse | Refusal:
        request = pb.ExecuteRequest(connector_key="faulty", operation=operation)
        if operation == "get":
            request.payload.update(payload or {"id": "obj_1"})
        else:
            request.idempotency_key = key
            request.payload.update(payload or {"amount": 100})
        try:
            return await self.gw.stub.Execute(request, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            return refusal(error)

    def outcome_rows(self) -> list[tuple[str, str, str]]:
        return [
            (r["event_type"], r["outcome"], r["reason"])
            for r in self.gw.audit_rows()
            if r["outcome"] != "requested"
        ]


async def rig_for(
    tmp_path: Path,
    *,
    max_call_deadline_ms: int = 30_000,
    deadline_reserve_ms: int = 50,
    **reliability: Any,
) -> AsyncIterator[Rig]:
    async with fault_vendor() as vendor:
        settings = gateway_settings(
            tmp_path,
            max_call_deadline_ms=max_call_deadline_ms,
            deadline_reserve_ms=deadline_reserve_ms,
            reliability={
                "backoff_scale": 0.001,
                "rate_limits": {"faulty": {"per_second": 1000, "burst": 1000}},
                **reliability,
            },
        )
        adapter = HttpFakeAdapter(vendor.url)
        async with running_gateway(
            settings, connectors=[Connector(adapter, registered=True)]
        ) as gw:
            yield Rig(gw, vendor)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_for(tmp_path):
        yield made


def refused(result: Any, code: grpc.StatusCode, reason: str) -> Refusal:
    assert isinstance(result, Refusal), f"expected a refusal, got {result}"
    assert (result.code, result.reason) == (code, reason)
    return result


UNKNOWN = (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")


@pytest.mark.parametrize("code", [502, 503, 504])
async def test_gateway_errors_are_retried_for_a_deduplicating_vendor(rig: Rig, code: int) -> None:
    rig.vendor.script(status(code))
    result = await rig.call("charge")
    assert isinstance(result, pb.ExecuteResponse)
    assert result.attempts == 2
    keys = [r.headers["idempotency-key"] for r in rig.vendor.requests]
    # The same key on both attempts (the execution's), so the vendor acts once.
    assert keys == [result.execution_id, result.execution_id]
    assert rig.outcome_rows() == [("execution_succeeded", "succeeded", "")]


async def test_503_is_retried_even_without_a_vendor_key(rig: Rig) -> None:
    rig.vendor.script(status(503))  # the vendor refused to process: it did not act
    result = await rig.call("create")
    assert isinstance(result, pb.ExecuteResponse)
    assert result.attempts == 2
    assert len(rig.vendor.requests) == 2
    assert rig.outcome_rows() == [("execution_succeeded", "succeeded", "")]


@pytest.mark.parametrize("code", [502, 504])
async def test_proxy_errors_on_a_write_without_vendor_key_are_not_repeated(
    rig: Rig, code: int
) -> None:
    rig.vendor.script(status(code))
    seen = refused(await rig.call("create"), *UNKNOWN)
    assert seen.metadata["vendor_status"] == str(code)
    assert seen.metadata["attempts"] == "1"
    assert len(rig.vendor.requests) == 1
    assert rig.outcome_rows() == [("execution_failed", "unknown", "OUTCOME_UNKNOWN")]


async def test_500_is_not_retried_and_unknown_for_writes(rig: Rig) -> None:
    rig.vendor.script(status(500, {"error": {"code": "boom", "message": "internal"}}))
    seen = refused(await rig.call("create"), *UNKNOWN)
    assert (seen.metadata["cause"], seen.metadata["vendor_code"]) == ("VENDOR_ERROR", "boom")
    rig.vendor.script(status(500))
    read = refused(await rig.call("get"), grpc.StatusCode.UNAVAILABLE, "VENDOR_ERROR")
    assert read.metadata["attempts"] == "1"
    assert len(rig.vendor.requests) == 2
    assert rig.outcome_rows() == [
        ("execution_failed", "unknown", "OUTCOME_UNKNOWN"),
        ("execution_failed", "failed", "VENDOR_ERROR"),
    ]


async def test_unknown_outcome_is_reconciled_with_a_deduplicating_vendor(rig: Rig) -> None:
    rig.vendor.script(status(500))
    refused(await rig.call("charge"), *UNKNOWN)
    # The agent repeats with the same key: the vendor deduplicates, so asking again is safe
    # and learns the real outcome.
    result = await rig.call("charge")
    assert isinstance(result, pb.ExecuteResponse)
    # Both sends carry the execution's key: the vendor acts once, whichever arrived.
    assert [r.headers["idempotency-key"] for r in rig.vendor.requests] == [
        result.execution_id,
        result.execution_id,
    ]
    again = await rig.call("charge")
    assert isinstance(again, pb.ExecuteResponse)
    assert again.replayed
    assert again.execution_id == result.execution_id
    assert len(rig.vendor.requests) == 2
    assert rig.outcome_rows() == [
        ("execution_failed", "unknown", "OUTCOME_UNKNOWN"),
        ("execution_succeeded", "succeeded", ""),
        ("execution_replayed", "succeeded", ""),
    ]


async def test_a_resend_that_never_reaches_the_vendor_leaves_the_outcome_unknown(
    tmp_path: Path,
) -> None:
    async for rig in rig_for(tmp_path, breaker_failure_threshold=10):
        await resend_learns_nothing(rig)


async def resend_learns_nothing(rig: Rig) -> None:
    rig.vendor.script(status(500))
    first = refused(await rig.call("charge"), *UNKNOWN)
    execution_id = first.metadata["execution_id"]
    # The repeat is sent again under the same key, and the vendor turns every attempt away
    # before acting: that says nothing of the first sending, which may have charged.
    rig.vendor.script(*(status(503) for _ in range(4)))
    again = refused(await rig.call("charge"), *UNKNOWN)
    assert again.metadata["execution_id"] == execution_id
    assert again.metadata["cause"] == "VENDOR_UNAVAILABLE"
    unknown = await rig.gw.gateway.ledger.executions("default", ExecutionStatus.UNKNOWN, 10)
    assert [e.execution_id for e in unknown] == [execution_id]
    # Once the vendor answers, the same key learns the real outcome, under the same execution.
    result = await rig.call("charge")
    assert isinstance(result, pb.ExecuteResponse)
    assert result.execution_id == execution_id
    keys = {r.headers["idempotency-key"] for r in rig.vendor.requests}
    assert len(rig.vendor.requests) == 6
    assert len(keys) == 1


async def test_a_resend_the_vendor_rejects_settles_as_failed(rig: Rig) -> None:
    rig.vendor.script(status(500))
    first = refused(await rig.call("charge"), *UNKNOWN)
    rig.vendor.script(status(400, {"error": {"code": "amount_too_small"}}))
    rejected = refused(
        await rig.call("charge"), grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED"
    )
    assert rejected.metadata["vendor_code"] == "amount_too_small"
    failed = await rig.gw.gateway.ledger.executions("default", ExecutionStatus.FAILED, 10)
    assert [e.execution_id for e in failed] == [first.metadata["execution_id"]]


async def test_unknown_outcome_without_vendor_key_stays_for_operators(rig: Rig) -> None:
    rig.vendor.script(status(502))
    refused(await rig.call("create"), *UNKNOWN)
    replay = refused(await rig.call("create"), *UNKNOWN)
    assert replay.metadata["replayed"] == "true"
    assert len(rig.vendor.requests) == 1
    assert rig.outcome_rows() == [
        ("execution_failed", "unknown", "OUTCOME_UNKNOWN"),
        ("execution_replayed", "refused", "OUTCOME_UNKNOWN"),
    ]


def gap_s(vendor: FaultVendor) -> float:
    """How long the vendor went without a request between the first two it received."""
    first, second = vendor.requests[:2]
    return second.received_at - first.received_at


async def test_429_honours_retry_after(rig: Rig) -> None:
    rig.vendor.script(status(429, headers={"Retry-After": "1"}))
    result = await rig.call("create")
    assert isinstance(result, pb.ExecuteResponse)
    assert result.attempts == 2
    # Waited as the vendor asked, not the scaled-down backoff (a few milliseconds).
    assert gap_s(rig.vendor) >= 1.0
    assert rig.outcome_rows() == [("execution_succeeded", "succeeded", "")]


async def test_retry_after_is_capped(tmp_path: Path) -> None:
    async for rig in rig_for(tmp_path, max_retry_after_s=0.2):
        rig.vendor.script(status(429, headers={"Retry-After": "30"}))
        result = await rig.call("create", timeout=10)
        assert isinstance(result, pb.ExecuteResponse)
        assert result.attempts == 2
        # The cap, not the scaled-down backoff; and not the 30 s asked, which the 10 s
        # deadline could not have covered.
        assert gap_s(rig.vendor) >= 0.2
        assert rig.outcome_rows() == [("execution_succeeded", "succeeded", "")]


async def test_retries_stop_when_the_deadline_cannot_cover_the_next_attempt(rig: Rig) -> None:
    rig.vendor.script(status(429, headers={"Retry-After": "2"}), status(429))
    seen = refused(
        await rig.call("create", timeout=1.0),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "VENDOR_RATE_LIMITED",
    )
    assert seen.metadata["retries_stopped"] == "deadline"
    assert seen.metadata["attempts"] == "1"
    assert seen.retry_delay_ms == 2000  # the vendor's Retry-After, passed on to the agent
    assert len(rig.vendor.requests) == 1
    # Nothing was stored (the vendor did not act): the same key runs once the cause clears.
    result = await rig.call("create")
    assert isinstance(result, pb.ExecuteResponse)
    assert not result.replayed
    assert rig.outcome_rows() == [
        ("execution_failed", "failed", "VENDOR_RATE_LIMITED"),
        ("execution_succeeded", "succeeded", ""),
    ]


async def test_reset_before_and_after_sending_look_alike_to_the_client(rig: Rig) -> None:
    """A reset after the TCP handshake cannot be told apart from one after the request
    arrived, so the gateway assumes the vendor may have acted."""
    rig.vendor.script(reset_before())
    refused(await rig.call("create", key="a"), *UNKNOWN)
    assert len(rig.vendor.requests) == 0  # the vendor never read it...
    rig.vendor.script(reset_after())
    refused(await rig.call("create", key="b"), *UNKNOWN)
    assert len(rig.vendor.requests) == 1  # ...here it did: same answer, never repeated
    assert rig.outcome_rows() == [
        ("execution_failed", "unknown", "OUTCOME_UNKNOWN"),
        ("execution_failed", "unknown", "OUTCOME_UNKNOWN"),
    ]


async def test_reset_on_a_deduplicating_vendor_is_retried(rig: Rig) -> None:
    rig.vendor.script(reset_after())
    result = await rig.call("charge")
    assert isinstance(result, pb.ExecuteResponse)
    assert result.attempts == 2
    # Both sends carry the execution's key: the vendor acts once, whichever arrived.
    assert [r.headers["idempotency-key"] for r in rig.vendor.requests] == [
        result.execution_id,
        result.execution_id,
    ]
    assert rig.outcome_rows() == [("execution_succeeded", "succeeded", "")]


async def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    from tests.support.smtp_peers import free_port

    settings = gateway_settings(tmp_path, reliability={"backoff_scale": 0.001})
    adapter = HttpFakeAdapter(f"http://127.0.0.1:{free_port()}")
    async with running_gateway(settings, connectors=[Connector(adapter, registered=True)]) as gw:
        rig = Rig(gw, FaultVendor())
        seen = refused(await rig.call("create"), grpc.StatusCode.UNAVAILABLE, "VENDOR_UNAVAILABLE")
        assert seen.metadata["attempts"] == "4"  # never sent, so safe to retry each time
        # Nothing stored: the key is free again.
        assert await gw.gateway.ledger.record("default", "local-agent", "k1") is None
        assert rig.outcome_rows() == [("execution_failed", "failed", "VENDOR_UNAVAILABLE")]


async def test_slow_vendor_beyond_deadline(tmp_path: Path) -> None:
    # The gateway's own 500 ms cap bounds each call: the caller's deadline is far longer, so
    # its timer never races the gateway's answer; and the backstop, half the reserve after
    # the cap, leaves the answer to the attempt that timed out.
    async for rig in rig_for(tmp_path, max_call_deadline_ms=500, deadline_reserve_ms=2000):
        rig.vendor.script(slow(30))
        seen = refused(await rig.call("create"), *UNKNOWN)
        assert seen.metadata["attempts"] == "1"
        assert len(rig.vendor.requests) == 1
        rig.vendor.script(slow(30))
        read = refused(
            await rig.call("get"), grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"
        )
        assert read.metadata["attempts"] == "1"
        assert read.metadata["retries_stopped"] == "deadline"
        assert rig.outcome_rows() == [
            ("execution_failed", "unknown", "OUTCOME_UNKNOWN"),
            ("execution_failed", "failed", "DEADLINE_EXCEEDED"),
        ]


async def test_malformed_json(rig: Rig) -> None:
    rig.vendor.script(malformed_json())
    seen = refused(await rig.call("create"), *UNKNOWN)
    assert seen.metadata["cause"] == "VENDOR_BAD_RESPONSE"
    rig.vendor.script(malformed_json())
    refused(await rig.call("get"), grpc.StatusCode.UNKNOWN, "VENDOR_BAD_RESPONSE")
    assert len(rig.vendor.requests) == 2
    assert rig.outcome_rows() == [
        ("execution_failed", "unknown", "OUTCOME_UNKNOWN"),
        ("execution_failed", "failed", "VENDOR_BAD_RESPONSE"),
    ]


async def test_vendor_error_body_is_passed_on_and_replayed(rig: Rig) -> None:
    rig.vendor.script(
        status(400, {"error": {"code": "amount_too_small", "message": "Amount must be >= 50"}})
    )
    seen = refused(await rig.call("create"), grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED")
    assert seen.metadata["vendor_code"] == "amount_too_small"
    assert seen.metadata["vendor_message"] == "Amount must be >= 50"
    assert seen.metadata["vendor_status"] == "400"
    assert rig.outcome_rows() == [("execution_failed", "failed", "VENDOR_REJECTED")]
    # The vendor's final answer is stored: a repeat replays it without calling again.
    again = refused(
        await rig.call("create"), grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED"
    )
    assert again.metadata["replayed"] == "true"
    assert len(rig.vendor.requests) == 1
    # A 4xx about the request does not count against the vendor's health.
    health = await rig.gw.stub.Health(pb.HealthRequest(connector_key="faulty"), timeout=5)
    assert health.connectors[0].status != pb.CONNECTOR_STATUS_ERROR


async def test_compensation_refunds_once(rig: Rig) -> None:
    charged = await rig.call("charge")
    assert isinstance(charged, pb.ExecuteResponse)
    for key in ("u1", "u2"):
        await rig.gw.stub.Compensate(
            pb.CompensateRequest(
                execution_id=charged.execution_id, reason="r", idempotency_key=key
            ),
            timeout=5,
        )
    refunds = [r for r in rig.vendor.requests if r.path == "/v1/refund"]
    assert len(refunds) == 1
    assert refunds[0].json == {"charge": charged.result["id"]}
    assert rig.outcome_rows() == [
        ("execution_succeeded", "succeeded", ""),
        ("workflow_compensated", "succeeded", ""),
        ("execution_replayed", "succeeded", ""),
    ]


async def test_concurrent_repeats_of_an_unknown_outcome_ask_the_vendor_once(rig: Rig) -> None:
    rig.vendor.script(status(500))
    refused(await rig.call("charge"), *UNKNOWN)
    results = await asyncio.gather(*(rig.call("charge") for _ in range(5)))
    assert all(isinstance(r, pb.ExecuteResponse) for r in results)
    assert len({r.execution_id for r in results if isinstance(r, pb.ExecuteResponse)}) == 1
    assert len(rig.vendor.requests) == 2  # the first call, and one resend under the same key
    assert sorted(rig.outcome_rows()) == sorted(
        [
            ("execution_failed", "unknown", "OUTCOME_UNKNOWN"),
            ("execution_succeeded", "succeeded", ""),
        ]
        + [("execution_replayed", "succeeded", "")] * 4
    )
