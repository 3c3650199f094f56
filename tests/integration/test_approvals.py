"""Class B actions run only with a person's approval of that exact action, used once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import aiohttp
import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.errors import VendorUnavailable
from gateway.registry import Connector
from tests.support.clock import ManualClock
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import Refusal, refusal

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)


def guarded(key: str, text: str = "pay the invoice", approval_id: str = "") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key="fake", operation="guarded", idempotency_key=key, approval_id=approval_id
    )
    request.payload.update({"text": text})
    return request


async def ask(gw: RunningGateway, request: pb.ExecuteRequest) -> str:
    """Sends a class B call without a usable approval; returns the approval id it names."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, metadata=AGENT, timeout=5)
    seen = refusal(caught.value)
    assert (seen.code, seen.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "APPROVAL_REQUIRED")
    return seen.metadata["approval_id"]


def approvals(gw: RunningGateway) -> apb_grpc.ApprovalServiceStub:
    return apb_grpc.ApprovalServiceStub(gw.channel)


async def test_end_to_end_approval_runs_once(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    approval_id = await ask(gw, guarded("k1"))
    assert await ask(gw, guarded("k1")) == approval_id  # the pending request is found again
    assert fake.calls == []

    # The agent watches; once it has seen the request pending, an operator approves.
    watch = approvals(gw).WatchApproval(
        apb.WatchApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=10
    )
    updates = aiter(watch)
    seen = [(await anext(updates)).approval.status]

    async def follow() -> None:
        seen.extend([update.approval.status async for update in updates])

    follower = asyncio.create_task(follow())
    granted = await approvals(gw).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=approval_id, note="ok"),
        metadata=OPERATOR,
        timeout=5,
    )
    assert granted.approval.status == apb.APPROVAL_STATUS_GRANTED
    assert granted.approval.resolved_by == "local-operator"
    await asyncio.wait_for(follower, 5)
    assert seen == [apb.APPROVAL_STATUS_PENDING, apb.APPROVAL_STATUS_GRANTED]

    ran = await gw.stub.Execute(guarded("k1", approval_id=approval_id), metadata=AGENT, timeout=5)
    assert not ran.replayed
    assert len(fake.calls) == 1
    # A network retry of the approved call gets its stored answer, not a refusal.
    retried = await gw.stub.Execute(
        guarded("k1", approval_id=approval_id), metadata=AGENT, timeout=5
    )
    assert (retried.replayed, retried.execution_id) == (True, ran.execution_id)
    # Another request with the same (used) approval is refused.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(guarded("k2", approval_id=approval_id), metadata=AGENT, timeout=5)
    assert refusal(caught.value).reason == "APPROVAL_USED"
    assert len(fake.calls) == 1
    got = await approvals(gw).GetApproval(
        apb.GetApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=5
    )
    assert got.approval.status == apb.APPROVAL_STATUS_USED
    assert got.approval.used_by_execution_id == ran.execution_id

    events = [(r["event_type"], r["caller"]) for r in gw.audit_rows()]
    assert events[:3] == [
        ("approval_requested", "local-agent"),
        ("approval_requested", "local-agent"),
        ("approval_granted", "local-operator"),
    ]
    assert ("execution_requested", "local-agent") in events
    assert events[-1] == ("approval_refused", "local-agent")  # the APPROVAL_USED refusal
    assert all(
        r["detail"].find(approval_id) >= 0
        for r in gw.audit_rows()
        if r["event_type"] in ("approval_requested", "approval_granted")
    )


async def test_refusals_each_with_their_reason_and_audit_row(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    approval_id = await ask(gw, guarded("k1"))

    async def refused(
        request: pb.ExecuteRequest, metadata: tuple[tuple[str, str], ...] = AGENT
    ) -> str:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(request, metadata=metadata, timeout=5)
        return refusal(caught.value).reason

    assert await refused(guarded("k1", approval_id=approval_id)) == "APPROVAL_PENDING"
    # Only operators decide; and nobody approves their own request.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await approvals(gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=5
        )
    assert refusal(caught.value).reason == "OPERATOR_REQUIRED"
    await approvals(gw).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=5
    )
    # Payload swapped after approval.
    assert await refused(guarded("k3", text="pay twice", approval_id=approval_id)) == (
        "APPROVAL_MISMATCH"
    )
    assert await refused(guarded("k4", approval_id="apr_000000000000000000000000")) == (
        "APPROVAL_NOT_FOUND"
    )
    assert fake.calls == []
    reasons = [r["reason"] for r in gw.audit_rows() if r["outcome"] == "refused"]
    for reason in (
        "APPROVAL_PENDING",
        "OPERATOR_REQUIRED",
        "APPROVAL_MISMATCH",
        "APPROVAL_NOT_FOUND",
    ):
        assert reason in reasons


async def test_self_approval_is_forbidden(tmp_path: Path, fake: FakeAdapter) -> None:
    settings = gateway_settings(tmp_path)
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(guarded("k1"), metadata=OPERATOR, timeout=5)
        approval_id = refusal(caught.value).metadata["approval_id"]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await approvals(gw).ApproveApproval(
                apb.ApproveApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=5
            )
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "SELF_APPROVAL_FORBIDDEN",
        )
        assert gw.audit_rows()[-1]["reason"] == "SELF_APPROVAL_FORBIDDEN"


async def test_expired_and_denied_approvals(tmp_path: Path, fake: FakeAdapter) -> None:
    settings = gateway_settings(tmp_path, approvals={"use_within_s": 60, "pending_ttl_s": 120})
    clock = ManualClock()
    async with running_gateway(
        settings, connectors=[Connector(fake, registered=True)], clocks=clock.clocks
    ) as gw:
        granted_id = await ask(gw, guarded("k1"))
        await approvals(gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=granted_id), metadata=OPERATOR, timeout=5
        )
        denied_id = await ask(gw, guarded("k2", text="something else"))
        await approvals(gw).DenyApproval(
            apb.DenyApprovalRequest(approval_id=denied_id, reason="not this month"),
            metadata=OPERATOR,
            timeout=5,
        )
        unanswered_id = await ask(gw, guarded("k3", text="a third thing"))
        clock.advance(121)  # past the grant's use-by time and the pending request's expiry
        for key, text, approval_id, reason in (
            ("k1", "pay the invoice", granted_id, "APPROVAL_EXPIRED"),
            ("k2", "something else", denied_id, "APPROVAL_DENIED"),
            ("k3", "a third thing", unanswered_id, "APPROVAL_EXPIRED"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await gw.stub.Execute(guarded(key, text, approval_id), metadata=AGENT, timeout=5)
            seen = refusal(caught.value)
            assert seen.reason == reason
            if reason == "APPROVAL_DENIED":
                assert "not this month" in seen.message
        assert fake.calls == []
        await gw.gateway.expire_approvals()
        events = [r["event_type"] for r in gw.audit_rows()]
        assert "approval_denied" in events
        assert "approval_expired" in events


async def test_operator_lists_with_sla_and_http_approval_needs_csrf(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    approval_id = await ask(gw, guarded("k1"))
    listed = await approvals(gw).ListApprovals(
        apb.ListApprovalsRequest(status=apb.APPROVAL_STATUS_PENDING),
        metadata=OPERATOR,
        timeout=5,
    )
    assert [a.approval_id for a in listed.approvals] == [approval_id]
    assert listed.approvals[0].escalation_level == 0
    assert listed.approval_sla_compliance == 1.0  # nothing fell due yet

    base = f"http://127.0.0.1:{gw.gateway.http_port}"
    operator = {DEV_CALLER_HEADER: "local-operator"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/v1/approvals/{approval_id}/approve", headers=operator) as r:
            assert r.status == 403
            assert (await r.json())["error"]["reason"] == "CSRF_TOKEN_INVALID"
        async with http.get(f"{base}/v1/csrf-token", headers=operator) as r:
            token = (await r.json())["token"]
        agent = {DEV_CALLER_HEADER: "local-agent", "X-CSRF-Token": token}
        async with http.post(f"{base}/v1/approvals/{approval_id}/approve", headers=agent) as r:
            assert r.status == 403  # a token is bound to its caller, and agents are no operators
        async with http.post(
            f"{base}/v1/approvals/{approval_id}/approve",
            headers={**operator, "X-CSRF-Token": token},
            json={"note": "fine"},
        ) as r:
            assert r.status == 200
            assert (await r.json())["status"] == "APPROVAL_STATUS_GRANTED"
    rows = gw.audit_rows()
    assert rows[-1]["event_type"] == "approval_granted"
    assert rows[-1]["rpc_method"].startswith("HTTP POST")
    assert [r["reason"] for r in rows].count("CSRF_TOKEN_INVALID") == 1
    ran = await gw.stub.Execute(guarded("k1", approval_id=approval_id), metadata=AGENT, timeout=5)
    assert ran.attempts == 1


async def test_class_b_compensation_needs_its_own_approval(
    tmp_path: Path, fake: FakeAdapter
) -> None:
    # A deployment tightens the undo of echo to class B.
    settings = gateway_settings(tmp_path, policy={"overrides": {"fake.unecho": "B"}})
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="e1")
        request.payload.update({"text": "hi"})
        done = await gw.stub.Execute(request, metadata=AGENT, timeout=5)
        undo = pb.CompensateRequest(execution_id=done.execution_id, reason="r", idempotency_key="u")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Compensate(undo, metadata=AGENT, timeout=5)
        seen = refusal(caught.value)
        assert seen.reason == "APPROVAL_REQUIRED"
        approval_id = seen.metadata["approval_id"]
        got = await approvals(gw).GetApproval(
            apb.GetApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=5
        )
        # Bound to the execution and the compensating operation.
        assert (got.approval.execution_id, got.approval.operation) == (done.execution_id, "unecho")
        await approvals(gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=5
        )
        # An approval of another execution's compensation does not fit this one.
        other = await gw.stub.Execute(
            pb.ExecuteRequest(
                connector_key="fake",
                operation="echo",
                idempotency_key="e2",
                payload=request.payload,
            ),
            metadata=AGENT,
            timeout=5,
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Compensate(
                pb.CompensateRequest(
                    execution_id=other.execution_id,
                    reason="r",
                    idempotency_key="u2",
                    approval_id=approval_id,
                ),
                metadata=AGENT,
                timeout=5,
            )
        assert refusal(caught.value).reason == "APPROVAL_MISMATCH"
        undo.approval_id = approval_id
        undone = await gw.stub.Compensate(undo, metadata=AGENT, timeout=5)
        assert undone.compensating_operation == "unecho"
        assert [c[0] for c in fake.calls] == ["echo", "echo", "unecho"]


async def test_approval_is_given_back_when_the_vendor_never_acted(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    approval_id = await ask(gw, guarded("k1"))
    await approvals(gw).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=5
    )
    # Every attempt is refused before the vendor acts (connection refused, say).
    fake.failures = [VendorUnavailable("connection refused") for _ in range(4)]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(guarded("k1", approval_id=approval_id), metadata=AGENT, timeout=5)
    assert refusal(caught.value).reason == "VENDOR_UNAVAILABLE"
    got = await approvals(gw).GetApproval(
        apb.GetApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=5
    )
    assert got.approval.status == apb.APPROVAL_STATUS_GRANTED  # not spent on nothing
    # Once the vendor is back, the same request with the same approval runs, once.
    ran = await gw.stub.Execute(guarded("k1", approval_id=approval_id), metadata=AGENT, timeout=5)
    assert not ran.replayed
    assert len(fake.calls) == 5
    got = await approvals(gw).GetApproval(
        apb.GetApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=5
    )
    assert got.approval.status == apb.APPROVAL_STATUS_USED


# --- the two-person rule ---------------------------------------------------------------------

TWO_PERSON_POLICY = """
[callers."agent-billing"]
tenant = "acme"
allow = ["fake.*"]
[callers."agent-other"]
tenant = "acme"
allow = ["fake.*"]
[callers."ops-alice"]
tenant = "acme"
allow = ["fake.*"]   # an operator who may also make the call
operator = true
"""


def as_caller(caller: str) -> tuple[tuple[str, str], ...]:
    return ((DEV_CALLER_HEADER, caller),)


@pytest.fixture
async def two_person_gateway(tmp_path: Path, fake: FakeAdapter) -> AsyncIterator[RunningGateway]:
    policy = tmp_path / "policy.toml"
    policy.write_text(TWO_PERSON_POLICY, encoding="utf-8")
    settings = gateway_settings(
        tmp_path / "var",
        auth={"mode": "development", "policy_file": str(policy), "dev_caller": "agent-billing"},
    )
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield gw


async def refused_with(call: Awaitable[object]) -> Refusal:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return refusal(caught.value)


async def test_an_operator_who_may_also_call_cannot_use_an_agents_approval(
    two_person_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = two_person_gateway
    agent, operator = as_caller("agent-billing"), as_caller("ops-alice")
    asked = await refused_with(gw.stub.Execute(guarded("k1"), metadata=agent, timeout=5))
    agents_id = asked.metadata["approval_id"]

    # The operator repeats the agent's request: he gets a request of his own, not the agent's.
    repeated = await refused_with(gw.stub.Execute(guarded("k1"), metadata=operator, timeout=5))
    assert repeated.reason == "APPROVAL_REQUIRED"
    operators_id = repeated.metadata["approval_id"]
    assert operators_id != agents_id
    got = await approvals(gw).GetApproval(
        apb.GetApprovalRequest(approval_id=operators_id), metadata=operator, timeout=5
    )
    assert got.approval.requested_by == "ops-alice"
    # Which he cannot approve himself.
    own = await refused_with(
        approvals(gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=operators_id), metadata=operator, timeout=5
        )
    )
    assert own.reason == "SELF_APPROVAL_FORBIDDEN"

    # He approves the agent's request (it shows the agent as requester) ...
    granted = await approvals(gw).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=agents_id), metadata=operator, timeout=5
    )
    assert (granted.approval.requested_by, granted.approval.resolved_by) == (
        "agent-billing",
        "ops-alice",
    )
    # ... and cannot use it himself, under any key: NOT_FOUND, as for an unknown id.
    unknown = await refused_with(
        gw.stub.Execute(guarded("k2", approval_id="apr_" + "0" * 24), metadata=operator, timeout=5)
    )
    for key in ("k2", "k1"):
        used = await refused_with(
            gw.stub.Execute(guarded(key, approval_id=agents_id), metadata=operator, timeout=5)
        )
        assert (used.code, used.reason) == (grpc.StatusCode.NOT_FOUND, "APPROVAL_NOT_FOUND")
        assert used.message.replace(agents_id, "ID") == unknown.message.replace(
            "apr_" + "0" * 24, "ID"
        )
    assert fake.calls == []  # the vendor received nothing

    # The agent still can, once.
    ran = await gw.stub.Execute(guarded("k1", approval_id=agents_id), metadata=agent, timeout=5)
    assert not ran.replayed
    assert len(fake.calls) == 1
    refusals = [
        (r["caller"], r["reason"]) for r in gw.audit_rows() if r["reason"] == "APPROVAL_NOT_FOUND"
    ]
    assert refusals == [("ops-alice", "APPROVAL_NOT_FOUND")] * 3


async def test_another_caller_cannot_get_or_watch_an_approval_it_did_not_ask_for(
    two_person_gateway: RunningGateway,
) -> None:
    gw = two_person_gateway
    asked = await refused_with(
        gw.stub.Execute(guarded("k1"), metadata=as_caller("agent-billing"), timeout=5)
    )
    approval_id = asked.metadata["approval_id"]
    unknown_id = "apr_" + "0" * 24
    other = as_caller("agent-other")

    for approval_id_asked in (approval_id, unknown_id):
        got = await refused_with(
            approvals(gw).GetApproval(
                apb.GetApprovalRequest(approval_id=approval_id_asked), metadata=other, timeout=5
            )
        )
        watch = approvals(gw).WatchApproval(
            apb.WatchApprovalRequest(approval_id=approval_id_asked), metadata=other, timeout=5
        )
        watched = await refused_with(anext(aiter(watch)))
        for seen in (got, watched):
            assert (seen.code, seen.reason) == (grpc.StatusCode.NOT_FOUND, "APPROVAL_NOT_FOUND")
            assert (
                seen.message.replace(approval_id_asked, "ID") == "no approval 'ID' in this tenant"
            )
            assert seen.metadata == {"approval_id": approval_id_asked}
    # The operators of the tenant see it.
    seen = await approvals(gw).GetApproval(
        apb.GetApprovalRequest(approval_id=approval_id), metadata=as_caller("ops-alice"), timeout=5
    )
    assert seen.approval.requested_by == "agent-billing"


# --- bounds ----------------------------------------------------------------------------------


async def test_a_caller_with_too_many_pending_requests_is_refused_and_audited(
    tmp_path: Path, fake: FakeAdapter
) -> None:
    settings = gateway_settings(tmp_path, approvals={"max_pending_per_caller": 2})
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        first = await ask(gw, guarded("k1", text="one"))
        await ask(gw, guarded("k2", text="two"))

        refused = await refused_with(
            gw.stub.Execute(guarded("k3", text="three"), metadata=AGENT, timeout=5)
        )

        assert (refused.code, refused.reason) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "TOO_MANY_PENDING_APPROVALS",
        )
        assert refused.metadata["limit"] == "2"
        assert refused.retry_delay_ms is None
        listed = await approvals(gw).ListApprovals(
            apb.ListApprovalsRequest(), metadata=OPERATOR, timeout=5
        )
        assert len(listed.approvals) == 2  # nothing stored
        row = gw.audit_rows()[-1]
        assert (row["event_type"], row["reason"], row["caller"]) == (
            "request_rejected",
            "TOO_MANY_PENDING_APPROVALS",
            "local-agent",
        )
        # Asking again for an action already pending is no new request.
        assert await ask(gw, guarded("k1", text="one")) == first
        # Another caller is not held back by this one.
        other = await refused_with(
            gw.stub.Execute(guarded("k3", text="three"), metadata=OPERATOR, timeout=5)
        )
        assert other.reason == "APPROVAL_REQUIRED"
        assert fake.calls == []


async def test_a_watch_ends_when_the_request_expires_unanswered(
    tmp_path: Path, fake: FakeAdapter
) -> None:
    # The sweep would take far longer: the watch itself notices the deadline.
    settings = gateway_settings(tmp_path, approvals={"pending_ttl_s": 1.5, "expiry_sweep_s": 600})
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        approval_id = await ask(gw, guarded("k1"))
        watch = approvals(gw).WatchApproval(
            apb.WatchApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=20
        )
        statuses = [update.approval.status async for update in watch]

        assert statuses == [apb.APPROVAL_STATUS_PENDING, apb.APPROVAL_STATUS_EXPIRED]
        assert gw.gateway.approvals.notifier.watched == 0
        assert await gw.gateway.expire_approvals() == 1  # and it is recorded
        assert gw.audit_rows()[-1]["event_type"] == "approval_expired"


async def test_a_watch_sees_a_grant_made_over_http_at_once(
    fake_gateway: RunningGateway,
) -> None:
    gw = fake_gateway
    approval_id = await ask(gw, guarded("k1"))
    watch = approvals(gw).WatchApproval(
        apb.WatchApprovalRequest(approval_id=approval_id), metadata=AGENT, timeout=20
    )
    updates = aiter(watch)
    first = await anext(updates)
    assert first.approval.status == apb.APPROVAL_STATUS_PENDING

    base = f"http://127.0.0.1:{gw.gateway.http_port}"
    operator = {DEV_CALLER_HEADER: "local-operator"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/v1/csrf-token", headers=operator) as r:
            token = (await r.json())["token"]
        async with http.post(
            f"{base}/v1/approvals/{approval_id}/approve",
            headers={**operator, "X-CSRF-Token": token},
        ) as r:
            assert r.status == 200

    # Woken by the store's own change: no re-check interval (30 s here) elapses first.
    update = await asyncio.wait_for(anext(updates), 5)
    assert update.approval.status == apb.APPROVAL_STATUS_GRANTED


async def test_a_pruned_approval_is_not_found(tmp_path: Path, fake: FakeAdapter) -> None:
    settings = gateway_settings(tmp_path, approvals={"retention_s": 1e-6})
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        denied_id = await ask(gw, guarded("k1", text="one"))
        pending_id = await ask(gw, guarded("k2", text="two"))
        await approvals(gw).DenyApproval(
            apb.DenyApprovalRequest(approval_id=denied_id, reason="no"),
            metadata=OPERATOR,
            timeout=5,
        )

        assert await gw.gateway.prune_approvals() == 1

        gone = await refused_with(
            approvals(gw).GetApproval(
                apb.GetApprovalRequest(approval_id=denied_id), metadata=OPERATOR, timeout=5
            )
        )
        assert (gone.code, gone.reason) == (grpc.StatusCode.NOT_FOUND, "APPROVAL_NOT_FOUND")
        used = await refused_with(
            gw.stub.Execute(guarded("k1", "one", denied_id), metadata=AGENT, timeout=5)
        )
        assert used.reason == "APPROVAL_NOT_FOUND"
        kept = await approvals(gw).GetApproval(
            apb.GetApprovalRequest(approval_id=pending_id), metadata=OPERATOR, timeout=5
        )
        assert kept.approval.status == apb.APPROVAL_STATUS_PENDING
