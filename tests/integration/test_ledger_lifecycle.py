"""The ledger over time: processes sharing it, operators resolving it, rows leaving it."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.canonical import sha256_hex
from gateway.clock import to_text, utc_now
from gateway.errors import VendorUnavailable
from gateway.registry import Connector
from gateway.reliability.idempotency import execute_fingerprint
from gateway.store.ledger import NewExecution, RecordState
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal

OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)


def echo(key: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key=key)
    request.payload.update({"text": "hi"})
    return request


async def refused(call: Any) -> tuple[grpc.StatusCode, str, dict[str, str], list[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    seen = refusal(caught.value)
    return seen.code, seen.reason, seen.metadata, [field for field, _ in seen.violations]


async def unknown_execution(gw: RunningGateway, fake: FakeAdapter, key: str) -> str:
    fake.failures = [VendorUnavailable("reset after sending", may_have_acted=True)]
    _, reason, meta, _ = await refused(gw.stub.Execute(echo(key), timeout=5))
    assert reason == "OUTCOME_UNKNOWN"
    return meta["execution_id"]


def resolution(execution_id: str, acted: bool, result: Any = None) -> epb.ResolveExecutionRequest:
    request = epb.ResolveExecutionRequest(
        execution_id=execution_id,
        resolution=epb.RESOLUTION_SUCCEEDED if acted else epb.RESOLUTION_NOT_ACTED,
        note="checked at the vendor",
    )
    if result is not None:
        request.result.update(result)
    return request


# --- processes sharing one database --------------------------------------------------------


async def test_a_second_process_leaves_the_first_ones_calls_alone(tmp_path: Path) -> None:
    first_vendor, second_vendor = FakeAdapter(), FakeAdapter()
    first_vendor.hold = asyncio.Event()
    async with running_gateway(
        gateway_settings(tmp_path), connectors=[Connector(first_vendor, registered=True)]
    ) as first:
        running = asyncio.ensure_future(first.stub.Execute(echo("shared"), timeout=10))
        await asyncio.wait_for(first_vendor.entered.wait(), 5)
        async with running_gateway(
            gateway_settings(tmp_path), connectors=[Connector(second_vendor, registered=True)]
        ) as second:
            # The second process started while the first one's call was at the vendor: that
            # call is still in flight, not of unknown outcome.
            record = await second.gateway.ledger.record("default", "local-agent", "shared")
            assert record is not None
            assert record.state is RecordState.IN_FLIGHT
            repeat = asyncio.ensure_future(second.stub.Execute(echo("shared"), timeout=10))
            first_vendor.hold.set()
            done = await asyncio.wait_for(running, 10)
            repeated = await asyncio.wait_for(repeat, 10)
        assert not done.replayed
        assert (repeated.replayed, repeated.execution_id) == (True, done.execution_id)
        assert len(first_vendor.calls) == 1
        assert second_vendor.calls == []


async def _orphan(gw: RunningGateway, owner: str, key: str) -> None:
    """A call of ``echo("hi")`` under ``key`` left in flight by process ``owner``."""
    digest = sha256_hex({"text": "hi"})
    await gw.gateway.ledger.reserve(
        key=key,
        fingerprint=execute_fingerprint("fake", "echo", digest),
        execution=NewExecution(
            f"ex-{key}", "default", "local-agent", "fake", "echo", key, digest, "local-agent"
        ),
        owner=owner,
        ttl_s=60,
    )


async def test_calls_of_a_process_that_is_gone_become_unknown(
    fake_gateway: RunningGateway,
) -> None:
    ledger = fake_gateway.gateway.ledger
    # One process stopped renewing its lease a minute ago.
    await ledger.hold_lease("lapsed", 30, now=utc_now() - timedelta(minutes=2))
    await _orphan(fake_gateway, "lapsed", "k-lapsed")
    # Another still holds a lease, but its process on this host has exited.
    exited = subprocess.Popen(["true"])
    exited.wait()
    with sqlite3.connect(fake_gateway.gateway.settings.database_path) as db:
        db.execute(
            "INSERT INTO gateway_instances VALUES ('exited', ?, ?, ?, ?)",
            (
                socket.gethostname(),
                exited.pid,
                to_text(utc_now()),
                to_text(utc_now() + timedelta(minutes=5)),
            ),
        )
    await _orphan(fake_gateway, "exited", "k-exited")
    # A live one's call is left alone.
    await ledger.hold_lease("alive", 300)
    await _orphan(fake_gateway, "alive", "k-alive")

    assert await ledger.orphans_to_unknown() == 2
    states = {
        key: (await ledger.record("default", "local-agent", key)).state  # type: ignore[union-attr]
        for key in ("k-lapsed", "k-exited", "k-alive")
    }
    assert states == {
        "k-lapsed": RecordState.UNKNOWN,
        "k-exited": RecordState.UNKNOWN,
        "k-alive": RecordState.IN_FLIGHT,
    }
    _, reason, meta, _ = await refused(fake_gateway.stub.Execute(echo("k-lapsed"), timeout=5))
    assert (reason, meta["execution_id"]) == ("OUTCOME_UNKNOWN", "ex-k-lapsed")


# --- resolving an unknown outcome ----------------------------------------------------------


async def test_a_resolution_carries_the_vendor_ids_the_undo_needs(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    executions = epb_grpc.ExecutionServiceStub(gw.channel)
    execution_id = await unknown_execution(gw, fake, "k-undo")
    for request, field in (
        (resolution(execution_id, True), "result.execution_id"),  # the ids are missing
        (resolution(execution_id, True, {"execution_id": ""}), "result.execution_id"),
        (resolution(execution_id, True, {"execution_id": float("nan")}), "result"),
        (resolution(execution_id, False, {"execution_id": "v-9"}), "result"),
    ):
        code, reason, _, fields = await refused(
            executions.ResolveExecution(request, metadata=OPERATOR, timeout=5)
        )
        assert (code, reason, fields) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FIELD",
            [field],
        )
    resolved = await executions.ResolveExecution(
        resolution(execution_id, True, {"execution_id": "v-9"}), metadata=OPERATOR, timeout=5
    )
    assert dict(resolved.execution.result) == {"execution_id": "v-9"}
    assert resolved.execution.resolution_note == "checked at the vendor"
    undone = await gw.stub.Compensate(
        pb.CompensateRequest(execution_id=execution_id, reason="r", idempotency_key="u"),
        timeout=5,
    )
    assert undone.result["undone"] == "v-9"
    assert fake.calls[-1] == ("unecho", {"execution_id": "v-9"})


async def test_a_compensate_without_vendor_ids_is_refused(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    """An execution resolved by an earlier version, with only the operator's note."""
    gw = fake_gateway
    execution_id = await unknown_execution(gw, fake, "k-legacy")
    await gw.gateway.ledger.resolve(
        tenant="default",
        execution_id=execution_id,
        acted=True,
        outcome={},
        result={"resolved_by": "local-operator", "note": "seen"},
        note="seen",
        ttl_s=60,
    )
    code, reason, meta, _ = await refused(
        gw.stub.Compensate(
            pb.CompensateRequest(execution_id=execution_id, reason="r", idempotency_key="u"),
            timeout=5,
        )
    )
    assert (code, reason, meta["execution_id"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "EXECUTION_RESULT_MISSING",
        execution_id,
    )
    assert [name for name, _ in fake.calls] == ["echo"]
    assert gw.audit_rows()[-1]["reason"] == "EXECUTION_RESULT_MISSING"


# --- retention -----------------------------------------------------------------------------


async def test_settled_executions_leave_after_their_retention(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    ledger = gw.gateway.ledger
    executions = epb_grpc.ExecutionServiceStub(gw.channel)
    settled = await gw.stub.Execute(echo("k-settled"), timeout=5)
    undone = await gw.stub.Execute(echo("k-undone"), timeout=5)
    await gw.stub.Compensate(
        pb.CompensateRequest(execution_id=undone.execution_id, reason="r", idempotency_key="u"),
        timeout=5,
    )
    unknown = await unknown_execution(gw, fake, "k-unknown")

    later = utc_now() + timedelta(days=30)
    # While a key still replays its execution, the execution stays.
    assert await ledger.prune_executions(24 * 3600, now=later) == 0
    await ledger.prune(now=later)
    # Only settled executions go; the compensation's own execution is settled too.
    assert await ledger.prune_executions(24 * 3600, now=later) == 2
    for gone in (settled.execution_id,):
        code, reason, _, _ = await refused(
            executions.GetExecution(
                epb.GetExecutionRequest(execution_id=gone), metadata=OPERATOR, timeout=5
            )
        )
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "EXECUTION_NOT_FOUND")
    for kept, status in (
        (undone.execution_id, epb.EXECUTION_STATUS_COMPENSATED),
        (unknown, epb.EXECUTION_STATUS_UNKNOWN),
    ):
        got = await executions.GetExecution(
            epb.GetExecutionRequest(execution_id=kept), metadata=OPERATOR, timeout=5
        )
        assert got.execution.status == status
    # The compensated execution still answers every Compensate with its one undo.
    again = await gw.stub.Compensate(
        pb.CompensateRequest(execution_id=undone.execution_id, reason="r", idempotency_key="u2"),
        timeout=5,
    )
    assert again.replayed
    assert [name for name, _ in fake.calls].count("unecho") == 1
