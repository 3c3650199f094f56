"""The approval queue over HTTP as an operator's tool uses it: list and read, fetch a CSRF
token, grant or deny; the agent's call then runs or is refused with the operator's reason, and
every decision is in the audit trail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import Answer, audit_count, call, csrf_token
from tests.support.rpc import refusal

# One agent and two operators of the same tenant, each allowed to decide.
POLICY = """
[callers.agent]
tenant = "default"
allow = ["fake.*"]

[callers.ops-ana]
tenant = "default"
allow = []
operator = true

[callers.ops-ben]
tenant = "default"
allow = []
operator = true
"""
ANA = {DEV_CALLER_HEADER: "ops-ana"}
BEN = {DEV_CALLER_HEADER: "ops-ben"}
AGENT = ((DEV_CALLER_HEADER, "agent"),)


@dataclass
class Queue:
    gw: RunningGateway
    fake: FakeAdapter


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[Queue]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = gateway_settings(
        tmp_path / "var",
        auth={"policy_file": str(policy), "dev_caller": "agent", "dev_operator": "ops-ana"},
    )
    fake = FakeAdapter()
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield Queue(gw, fake)


def guarded(text: str, key: str, approval_id: str = "") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key="fake", operation="guarded", idempotency_key=key, approval_id=approval_id
    )
    request.payload.update({"text": text})
    return request


async def ask(gw: RunningGateway, text: str) -> str:
    """The agent's class B call without approval; returns the approval request it opened."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(guarded(text, text.replace(" ", "-")), metadata=AGENT, timeout=5)
    seen = refusal(caught.value)
    assert seen.reason == "APPROVAL_REQUIRED"
    return seen.metadata["approval_id"]


async def decide(
    gw: RunningGateway, operator: dict[str, str], approval_id: str, verb: str, **body: str
) -> Answer:
    """An operator's decision with a CSRF token fetched as that operator."""
    token = await csrf_token(gw, headers=operator)
    return await call(
        gw,
        "POST",
        f"/v1/approvals/{approval_id}/{verb}",
        headers={**operator, "X-CSRF-Token": token},
        json=body,
    )


async def ids_with_status(gw: RunningGateway, status: str) -> list[str]:
    listed = await call(gw, "GET", f"/v1/approvals?status={status}", headers=ANA)
    assert listed.status == 200, listed
    return [a["approval_id"] for a in listed.body["approvals"]]


def audit_detail(row: dict[str, Any]) -> dict[str, str]:
    return dict(json.loads(str(row["detail"])))


async def test_a_grant_lets_the_call_run_and_a_denial_refuses_it_with_the_reason(
    queue: Queue,
) -> None:
    gw, fake = queue.gw, queue.fake
    paid = await ask(gw, "pay the invoice")
    twice = await ask(gw, "pay it twice")
    refund = await ask(gw, "refund it")
    assert set(await ids_with_status(gw, "pending")) == {paid, twice, refund}

    issued = await call(gw, "GET", "/v1/csrf-token", headers=ANA)
    assert issued.status == 200
    assert issued.body["header"] == "X-CSRF-Token"

    granted = await decide(gw, ANA, paid, "approve", note="invoice 42 checked")
    assert granted.status == 200, granted
    assert (granted.body["status"], granted.body["resolved_by"]) == (
        "APPROVAL_STATUS_GRANTED",
        "ops-ana",
    )
    assert granted.body["use_by"]
    denied = await decide(gw, ANA, twice, "deny", reason="paid last week")
    assert denied.status == 200, denied
    assert (denied.body["status"], denied.body["reason"]) == (
        "APPROVAL_STATUS_DENIED",
        "paid last week",
    )
    # A denial says why; without a reason nothing is decided.
    unexplained = await decide(gw, ANA, refund, "deny")
    assert (unexplained.status, unexplained.reason) == (400, "MISSING_FIELD")
    # A decision is made once.
    second = await decide(gw, BEN, paid, "deny", reason="changed my mind")
    assert (second.status, second.reason) == (409, "APPROVAL_NOT_PENDING")
    assert second.body["error"]["metadata"] == {"approval_id": paid, "status": "granted"}

    assert await ids_with_status(gw, "granted") == [paid]
    assert await ids_with_status(gw, "denied") == [twice]
    assert await ids_with_status(gw, "pending") == [refund]
    read = await call(gw, "GET", f"/v1/approvals/{twice}", headers=BEN)
    assert (read.body["status"], read.body["resolved_by"]) == ("APPROVAL_STATUS_DENIED", "ops-ana")

    # The agent's call runs with the grant, and is refused with the operator's reason.
    ran = await gw.stub.Execute(
        guarded("pay the invoice", "pay-the-invoice", paid), metadata=AGENT, timeout=5
    )
    assert not ran.replayed
    assert fake.calls == [("guarded", {"text": "pay the invoice", "count": 1})]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(
            guarded("pay it twice", "pay-it-twice", twice), metadata=AGENT, timeout=5
        )
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "APPROVAL_DENIED")
    assert seen.metadata["approval_id"] == twice
    assert "paid last week" in seen.message
    assert len(fake.calls) == 1

    rows = gw.audit_rows()
    requested = {
        audit_detail(r)["approval_id"]: r for r in rows if r["event_type"] == "approval_requested"
    }
    decisions = [r for r in rows if r["event_type"] in ("approval_granted", "approval_denied")]
    assert [(r["event_type"], r["caller"], r["rpc_method"]) for r in decisions] == [
        ("approval_granted", "ops-ana", f"HTTP POST /v1/approvals/{paid}/approve"),
        ("approval_denied", "ops-ana", f"HTTP POST /v1/approvals/{twice}/deny"),
    ]
    for row, approval_id in zip(decisions, (paid, twice), strict=True):
        assert audit_detail(row) == {"approval_id": approval_id}
        assert (row["connector_key"], row["operation"]) == ("fake", "guarded")
        assert row["payload_digest"] == requested[approval_id]["payload_digest"]
    refused = [(r["reason"], r["caller"]) for r in rows if r["outcome"] == "refused"]
    assert ("MISSING_FIELD", "ops-ana") in refused
    assert ("APPROVAL_NOT_PENDING", "ops-ben") in refused
    assert ("APPROVAL_DENIED", "agent") in refused


async def test_the_queue_filtered_by_status_comes_in_pages(queue: Queue) -> None:
    gw = queue.gw
    asked = [await ask(gw, f"pay invoice {n}") for n in range(5)]
    assert (await decide(gw, ANA, asked[2], "deny", reason="duplicate")).status == 200

    seen: list[str] = []
    path = "/v1/approvals?status=pending&page_size=3"
    first = await call(gw, "GET", path, headers=ANA)
    assert first.status == 200, first
    seen += [a["approval_id"] for a in first.body["approvals"]]
    token = first.body["next_page_token"]
    assert len(seen) == 3
    assert token
    last = await call(gw, "GET", f"{path}&page_token={token}", headers=ANA)
    assert last.status == 200, last
    seen += [a["approval_id"] for a in last.body["approvals"]]
    assert last.body["next_page_token"] == ""
    assert sorted(seen) == sorted(set(asked) - {asked[2]})
    assert all(a["status"] == "APPROVAL_STATUS_PENDING" for a in last.body["approvals"])

    # A page token belongs to its listing: another filter refuses it.
    before = audit_count(gw)
    other = await call(gw, "GET", f"/v1/approvals?status=denied&page_token={token}", headers=ANA)
    assert (other.status, other.reason) == (400, "INVALID_FIELD")
    assert audit_count(gw) == before + 1


@pytest.mark.parametrize(
    ("verb", "body", "event"),
    [("approve", {}, "approval_granted"), ("deny", {"reason": "no"}, "approval_denied")],
)
async def test_a_csrf_token_works_only_for_the_operator_it_was_issued_to(
    queue: Queue, verb: str, body: dict[str, str], event: str
) -> None:
    gw = queue.gw
    approval_id = await ask(gw, "pay the invoice")
    anas_token = await csrf_token(gw, headers=ANA)
    path = f"/v1/approvals/{approval_id}/{verb}"

    before = audit_count(gw)
    borrowed = await call(gw, "POST", path, headers={**BEN, "X-CSRF-Token": anas_token}, json=body)
    assert (borrowed.status, borrowed.reason) == (403, "CSRF_TOKEN_INVALID"), borrowed
    assert audit_count(gw) == before + 1
    row = gw.audit_rows()[-1]
    assert (row["event_type"], row["caller"], row["reason"]) == (
        "request_rejected",
        "ops-ben",
        "CSRF_TOKEN_INVALID",
    )
    # Nothing was decided.
    pending = await call(gw, "GET", f"/v1/approvals/{approval_id}", headers=BEN)
    assert (pending.body["status"], pending.body.get("resolved_by", "")) == (
        "APPROVAL_STATUS_PENDING",
        "",
    )

    # With a token of their own, the same request by the same operator is decided.
    bens_token = await csrf_token(gw, headers=BEN)
    own = await call(gw, "POST", path, headers={**BEN, "X-CSRF-Token": bens_token}, json=body)
    assert own.status == 200, own
    assert own.body["resolved_by"] == "ops-ben"
    decided = gw.audit_rows()[-1]
    assert (decided["event_type"], decided["caller"]) == (event, "ops-ben")
