"""The vendor's answers, the guards in front of it, the deadline, and shutting down.

Metadata values are checked against what the vendor recorded: ``attempts`` is the number
of requests the vendor received (or calls the fake connector recorded).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from gateway.errors import VendorUnavailable
from tests.adapters.whatsapp.fake_graph import fake_graph, graph_error
from tests.integration.approved import approved
from tests.integration.reasons.executions import lost_answer
from tests.integration.reasons.observe import (
    AGENT,
    OPERATOR,
    Observed,
    Scenario,
    echo,
    executions,
    fake_rig,
    faulty_rig,
    refused_rpc,
)
from tests.integration.whatsapp_rig import TEXT, whatsapp_gateway
from tests.integration.whatsapp_rig import execute as whatsapp_request
from tests.support.fake_adapter import FakeAdapter
from tests.support.fault_vendor import FaultVendor, large, slow, status

ALL_RETRIES = 4  # the first attempt and the default policy's three retries


def faulty(operation: str, key: str = "k1", **payload: object) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="faulty", operation=operation)
    if operation == "get":
        request.payload.update(payload or {"id": "obj_1"})
    else:
        request.idempotency_key = key
        request.payload.update(payload or {"amount": 100})
    return request


def vendor_error(code: str, message: str = "") -> dict[str, object]:
    """An error body in the common shape ``{"error": {"code", "message"}}``."""
    return {"error": {"code": code, "message": message or code}}


def attempts_match(seen: Observed, vendor: FaultVendor) -> None:
    assert seen.metadata["attempts"] == str(len(vendor.requests)), (seen, vendor.requests)


async def vendor_auth_failed(tmp_path: Path) -> Observed:
    async with faulty_rig(tmp_path) as (gw, vendor, _):
        vendor.script(status(401, vendor_error("invalid_api_key")))
        seen = await refused_rpc(gw.stub.Execute(faulty("create"), timeout=10), gw)
        assert seen.metadata["connector_key"] == "faulty"
        assert seen.metadata["vendor_code"] == "invalid_api_key"
        assert seen.metadata["attempts"] == "1"  # never retried: an operator must act
        attempts_match(seen, vendor)
        return seen


async def vendor_rejected(tmp_path: Path) -> Observed:
    async with faulty_rig(tmp_path) as (gw, vendor, _):
        vendor.script(status(422, vendor_error("amount_too_small")))
        seen = await refused_rpc(gw.stub.Execute(faulty("create"), timeout=10), gw)
        assert seen.metadata["vendor_code"] == "amount_too_small"
        assert seen.metadata["attempts"] == "1"
        attempts_match(seen, vendor)
        # The vendor's answer to this request is stored: a repeat replays it.
        replayed = await refused_rpc(gw.stub.Execute(faulty("create"), timeout=10), gw)
        assert (replayed.reason, replayed.metadata["replayed"]) == ("VENDOR_REJECTED", "true")
        assert len(vendor.requests) == 1
        return seen


async def messaging_window_closed(tmp_path: Path) -> Observed:
    async with fake_graph() as graph, whatsapp_gateway(tmp_path, graph.url) as whatsapp:
        graph.fail_next(400, graph_error(131047, "Re-engagement message", subcode=2494010))
        request = await approved(whatsapp.gw, whatsapp_request("send_text", TEXT, "k1"))
        seen = await refused_rpc(
            whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=10), whatsapp.gw
        )
        assert seen.metadata["connector_key"] == "whatsapp"
        assert seen.metadata["vendor_code"] == "131047"
        assert seen.metadata["attempts"] == "1"
        assert len(whatsapp.vendor.requests) == 1
        assert graph.sent == 0
        return seen


async def vendor_unavailable(tmp_path: Path) -> Observed:
    async with faulty_rig(tmp_path) as (gw, vendor, _):
        vendor.script(*[status(503, vendor_error("overloaded"))] * ALL_RETRIES)
        seen = await refused_rpc(gw.stub.Execute(faulty("create"), timeout=10), gw)
        assert seen.metadata["vendor_code"] == "overloaded"
        assert seen.metadata["attempts"] == str(ALL_RETRIES)
        assert seen.metadata["retries_stopped"] == "retries_exhausted"
        attempts_match(seen, vendor)
        # The vendor never acted, so the key is free: the same request runs now.
        ran = await gw.stub.Execute(faulty("create"), timeout=10)
        assert (ran.attempts, ran.replayed) == (1, False)
        return seen


async def vendor_rate_limited(tmp_path: Path) -> Observed:
    # The gateway honours no Retry-After while it retries (max_retry_after_s = 0), so the
    # retries are immediate; the caller is still told the vendor's delay.
    async with faulty_rig(tmp_path, reliability={"max_retry_after_s": 0}) as (gw, vendor, _):
        answer = status(429, vendor_error("rate_limited"), headers={"Retry-After": "7"})
        vendor.script(*[answer] * ALL_RETRIES)
        seen = await refused_rpc(gw.stub.Execute(faulty("create"), timeout=10), gw)
        assert seen.metadata["vendor_status"] == "429"
        assert seen.metadata["attempts"] == str(ALL_RETRIES)
        attempts_match(seen, vendor)
        assert seen.retry_delay_ms == 7000  # the vendor's Retry-After
        return seen


async def vendor_error_(tmp_path: Path) -> Observed:
    async with faulty_rig(tmp_path) as (gw, vendor, _):
        vendor.script(status(500, vendor_error("boom", "internal failure")))
        seen = await refused_rpc(gw.stub.Execute(faulty("get"), timeout=10), gw)
        assert seen.metadata["vendor_status"] == "500"
        assert seen.metadata["vendor_code"] == "boom"
        assert seen.metadata["vendor_message"] == "internal failure"
        assert "internal failure" not in seen.message  # the vendor's words stay in metadata
        assert seen.metadata["attempts"] == "1"
        attempts_match(seen, vendor)
        return seen


async def vendor_bad_response(tmp_path: Path) -> Observed:
    async with faulty_rig(tmp_path) as (gw, vendor, adapter):
        adapter.client.max_response_bytes = 1024
        vendor.script(large(4096))
        seen = await refused_rpc(gw.stub.Execute(faulty("get"), timeout=10), gw)
        assert seen.metadata["limit_bytes"] == "1024"
        assert seen.metadata["attempts"] == "1"
        attempts_match(seen, vendor)
        return seen


async def circuit_open(tmp_path: Path) -> Observed:
    reliability = {"breaker_failure_threshold": 1, "breaker_open_s": 60, "backoff_scale": 0.001}
    async with fake_rig(tmp_path, reliability=reliability) as (gw, fake):
        fake.failures = [VendorUnavailable("the vendor is down")]
        opened = await refused_rpc(gw.stub.Execute(echo("k1"), timeout=10), gw)
        assert opened.metadata["retries_stopped"] == "circuit_open"
        seen = await refused_rpc(gw.stub.Execute(echo("k2"), timeout=10), gw)
        assert seen.metadata["circuit_state"] == "open"
        assert seen.metadata["attempts"] == "0"  # nothing was sent
        assert seen.retry_delay_ms is not None
        assert 0 < seen.retry_delay_ms <= 60_000  # until the trial call may run
        assert len(fake.calls) == 1
        return seen


async def rate_limited(tmp_path: Path) -> Observed:
    # One call per 100 s: the second call's deadline cannot wait for its token.
    limits = {"fake": {"per_second": 0.01, "burst": 1}}
    async with fake_rig(tmp_path, reliability={"rate_limits": limits}) as (gw, fake):
        await gw.stub.Execute(echo("k1"), timeout=10)
        seen = await refused_rpc(gw.stub.Execute(echo("k2"), timeout=5), gw)
        assert seen.metadata["connector_key"] == "fake"
        assert seen.metadata["attempts"] == "0"  # nothing was sent
        assert seen.retry_delay_ms is not None
        assert 5_000 < seen.retry_delay_ms <= 100_000  # when the next token is free
        assert len(fake.calls) == 1
        return seen


async def deadline_exceeded(tmp_path: Path) -> Observed:
    # The vendor does not answer a read; the caller's deadline is 2 s, of which the gateway
    # keeps 1 s in reserve to answer with what it knows.
    async with faulty_rig(tmp_path, deadline_reserve_ms=1000) as (gw, vendor, _):
        vendor.script(slow(60))
        seen = await refused_rpc(gw.stub.Execute(faulty("get"), timeout=2), gw)
        assert seen.metadata["phase"] == "response"
        assert seen.metadata["attempts"] == "1"
        attempts_match(seen, vendor)
        return seen


async def outcome_unknown(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        fake.failures = [lost_answer()]
        first = await refused_rpc(gw.stub.Execute(echo("k1"), timeout=10), gw)
        assert first.metadata["connector_key"] == "fake"
        assert first.metadata["attempts"] == "1"
        assert first.metadata["cause"] == "VENDOR_UNAVAILABLE"
        assert "replayed" not in first.metadata
        execution_id = first.metadata["execution_id"]
        listed = await executions(gw).ListExecutions(
            epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
            metadata=OPERATOR,
            timeout=10,
        )
        assert [e.execution_id for e in listed.executions] == [execution_id]
        # Repeating it with the same key replays the answer; the vendor is not asked again.
        seen = await refused_rpc(gw.stub.Execute(echo("k1"), timeout=10), gw)
        assert seen.metadata == {**first.metadata, "replayed": "true"}
        assert len(fake.calls) == 1
        return seen


# --- shutting down ----------------------------------------------------------------------------

BACKOFF_S = 20.0  # the first retry's wait: the declared 1 s, scaled


@dataclass
class StoppedDuringBackoff:
    seen: Observed
    stop_took_s: float
    fake: FakeAdapter


async def stop_during_backoff(tmp_path: Path) -> StoppedDuringBackoff:
    """A write whose first attempt fails retryably, then waits BACKOFF_S before its retry;
    the gateway is stopped during that wait (with a long grace period)."""
    fake = FakeAdapter()
    fake.failures = [VendorUnavailable("the vendor is overloaded; it did not act")]
    reliability = {"backoff_scale": BACKOFF_S, "retry_jitter": False}
    async with fake_rig(tmp_path, fake, reliability=reliability) as (gw, _):
        call = asyncio.ensure_future(gw.stub.Execute(echo("k1"), timeout=60))
        await asyncio.wait_for(fake.entered.wait(), 10)  # the first attempt was made
        started = time.monotonic()
        await gw.gateway.stop(grace_s=3 * BACKOFF_S)
        stop_took_s = time.monotonic() - started
        seen = await refused_rpc(call, gw)
        return StoppedDuringBackoff(seen, stop_took_s, fake)


async def shutting_down(tmp_path: Path) -> Observed:
    stopped = await stop_during_backoff(tmp_path)
    seen = stopped.seen
    assert stopped.stop_took_s < BACKOFF_S / 2  # the backoff neither ran out nor held the stop
    assert seen.metadata["attempts"] == "1"
    assert seen.metadata["retries_stopped"] == "shutting_down"
    assert len(stopped.fake.calls) == 1
    assert seen.audit_row()["event_type"] == "echo_failed"
    return seen


SCENARIOS: dict[str, Scenario] = {
    "VENDOR_AUTH_FAILED": vendor_auth_failed,
    "VENDOR_REJECTED": vendor_rejected,
    "MESSAGING_WINDOW_CLOSED": messaging_window_closed,
    "VENDOR_UNAVAILABLE": vendor_unavailable,
    "VENDOR_RATE_LIMITED": vendor_rate_limited,
    "VENDOR_ERROR": vendor_error_,
    "VENDOR_BAD_RESPONSE": vendor_bad_response,
    "CIRCUIT_OPEN": circuit_open,
    "RATE_LIMITED": rate_limited,
    "DEADLINE_EXCEEDED": deadline_exceeded,
    "OUTCOME_UNKNOWN": outcome_unknown,
    "SHUTTING_DOWN": shutting_down,
}
