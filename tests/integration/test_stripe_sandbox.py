"""Stripe through the real gateway on a fresh data directory with no configuration at all:
the connector acts at its sandbox, marked sandbox; a read runs at once, a payment asks for an
approval and runs once, its undo too, and the operators see what the sandbox holds (gRPC and
the CLI). A lost answer is settled by the same Idempotency-Key at the sandbox; an account of
the tenant's own takes the connector to its vendor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from tests.adapters.stripe.fake_stripe import fake_stripe
from tests.integration.reasons.observe import (
    AGENT,
    OPERATOR,
    Observed,
    approvals,
    executions,
    refused_rpc,
)
from tests.integration.sandbox_calls import Connector
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway

pytestmark = pytest.mark.timeout(60)

KEY = "sk_test_RealAccount0123456789"


def execute(operation: str, key: str = "", **payload: Any) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="stripe", operation=operation, idempotency_key=key)
    request.payload.update(payload)
    return request


async def grant(gw: RunningGateway, asked: Observed) -> str:
    """The operator grants the approval a call was refused for; its id."""
    assert asked.reason == "APPROVAL_REQUIRED", asked
    approval_id: str = asked.metadata["approval_id"]
    await approvals(gw).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=approval_id), metadata=OPERATOR, timeout=5
    )
    return approval_id


async def approved(gw: RunningGateway, request: pb.ExecuteRequest) -> pb.ExecuteRequest:
    """``request``, once the operator granted the approval it was refused for."""
    asked = await refused_rpc(gw.stub.Execute(request, metadata=AGENT, timeout=10), gw)
    request.approval_id = await grant(gw, asked)
    return request


async def test_on_a_fresh_data_directory_stripe_runs_sandboxed_through_approval(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    async with running_gateway(settings) as gw:
        stripe = Connector(gw, "stripe")
        health = await stripe.ok()  # after the start-up probe
        assert health.sandbox
        described = await stripe.described()
        assert (described.configured, described.sandbox) == (True, True)

        # A payment asks for an approval, is approved by the operator, and runs once.
        create = await approved(
            gw, execute("create_payment_intent", "p-1", amount=2000, currency="usd")
        )
        ran = await gw.stub.Execute(create, metadata=AGENT, timeout=10)
        again = await gw.stub.Execute(create, metadata=AGENT, timeout=10)
        assert (ran.attempts, ran.replayed, again.replayed) == (1, False, True)
        intent = ran.result["id"]
        assert ran.result["status"] == "requires_payment_method"

        # A read runs at once.
        read = await gw.stub.Execute(
            execute("get_payment_intent", payment_intent=intent), metadata=AGENT, timeout=10
        )
        assert (read.result["id"], read.result["amount"], read.result["status"]) == (
            intent,
            2000,
            "requires_payment_method",
        )

        # Its undo, approved too, cancels it at the sandbox.
        undo = pb.CompensateRequest(
            execution_id=ran.execution_id, reason="test", idempotency_key="u-1"
        )
        asked = await refused_rpc(gw.stub.Compensate(undo, metadata=AGENT, timeout=10), gw)
        undo.approval_id = await grant(gw, asked)
        undone = await gw.stub.Compensate(undo, metadata=AGENT, timeout=10)
        assert (undone.result["action"], undone.result["status"]) == ("canceled", "canceled")

        created, canceled = await stripe.shown()
        assert created == {
            "event": "payment_intent.created",
            "id": intent,
            "amount": 2000.0,
            "currency": "usd",
            "status": "requires_payment_method",
        }
        assert (canceled["event"], canceled["id"]) == ("payment_intent.canceled", intent)
        rows = [r for r in gw.audit_rows() if r["connector_key"] == "stripe"]
        assert "payment_created" in [r["event_type"] for r in rows]
        assert {json.loads(r["detail"]).get("sandbox") for r in rows} == {"true"}

        lines = await stripe.cli_shown()
        assert lines[0] == "the stripe sandbox received 2 items, oldest first:"
        assert {"event: payment_intent.created", f"id: {intent}", "amount: 2000"} <= set(lines)
        assert "event: payment_intent.canceled" in lines
        assert (await stripe.cli_health())[1:3] == ["ok", "sandbox"]


async def test_lost_answers_are_settled_by_the_same_idempotency_key(tmp_path: Path) -> None:
    settings = gateway_settings(
        tmp_path,
        policy={"allow_loosening": True, "overrides": {"stripe.create_customer": "A"}},
        # Every attempt of the first two writes loses its answer; the gateway's own retries,
        # under the same key, are answered from Stripe's store and lost too.
        sandbox={"fail": {"stripe": {"drop": True, "at": "POST /v1/", "times": 8}}},
        reliability={"backoff_scale": 0.001, "breaker_failure_threshold": 10},  # stays closed
    )
    async with running_gateway(settings) as gw:
        stripe = Connector(gw, "stripe")
        customer = execute("create_customer", "c-1", email="ada@example.com")
        payment = await approved(
            gw, execute("create_payment_intent", "p-1", amount=500, currency="usd")
        )
        lost = [
            await refused_rpc(gw.stub.Execute(call, metadata=AGENT, timeout=10), gw)
            for call in (customer, payment)
        ]
        assert [(seen.reason, seen.metadata["attempts"]) for seen in lost] == [
            ("OUTCOME_UNKNOWN", "4"),
            ("OUTCOME_UNKNOWN", "4"),
        ]
        made = await stripe.shown()  # the sandbox acted on both; the answers were lost
        assert [m["event"] for m in made] == ["customer.created", "payment_intent.created"]

        # The agent repeats the first call.
        settled = await gw.stub.Execute(customer, metadata=AGENT, timeout=10)
        assert (settled.execution_id, settled.result["id"]) == (
            lost[0].metadata["execution_id"],
            made[0]["id"],
        )
        # An operator settles the approved payment without waiting for the agent.
        asked = await executions(gw).ReconcileExecution(
            epb.ReconcileExecutionRequest(execution_id=lost[1].metadata["execution_id"]),
            metadata=OPERATOR,
            timeout=10,
        )
        assert (asked.found, asked.execution.result["id"]) == (True, made[1]["id"])
        assert asked.execution.status == epb.EXECUTION_STATUS_SUCCEEDED
        assert await stripe.shown() == made  # Stripe's stored answers: nothing acted twice


async def test_an_account_of_its_own_takes_stripe_to_its_vendor(tmp_path: Path) -> None:
    async with fake_stripe(KEY) as stripe:
        settings = gateway_settings(
            tmp_path,
            policy={"allow_loosening": True, "overrides": {"stripe.create_customer": "A"}},
            stripe={"api_key": KEY, "base_url": stripe.url},
        )
        async with running_gateway(settings) as gw:
            connector = Connector(gw, "stripe")
            assert "stripe" not in gw.gateway.sandboxes.running
            described = await connector.described()
            assert (described.configured, described.sandbox) == (True, False)
            assert (await connector.health()).sandbox is False
            made = await gw.stub.Execute(
                execute("create_customer", "c-1", email="ada@example.com"),
                metadata=AGENT,
                timeout=10,
            )
            assert stripe.effects == [("customer_created", made.result["id"])]
            seen = await connector.not_sandboxed()
            assert (seen.reason, seen.metadata) == ("NOT_SANDBOXED", {"connector_key": "stripe"})
            rows = [r for r in gw.audit_rows() if r["event_type"] == "customer_created"]
            assert [json.loads(r["detail"]).get("sandbox") for r in rows] == [None]
