"""The stripe connector through the real gateway to Prism serving Stripe's published
description: every operation and undo end to end (class B through a person's approval),
each request Stripe would receive checked against the faithful description, and Stripe's
error statuses (asked of Prism with ``Prefer: code=N``) mapped to the gateway's reasons.

Prism answers placeholders ("string", 0), so results are checked for their shape, not
their values. Its PaymentIntent reads as ``canceled`` (the first status the description
lists), so undoing one here reads it and needs nothing; the fake Stripe covers the cancel
and refund branches (``test_stripe_connector.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from adapters.stripe import PLUGIN
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from tests.integration.reasons.observe import refused_rpc
from tests.integration.stripe_rig import StripeGateway, request, stripe_gateway
from tests.support.prefer_proxy import PreferProxy
from tests.support.prism import PrismServers

pytestmark = pytest.mark.timeout(180)

PRISM_SPEC = "stripe/spec3.trimmed.prism.yaml"
ALL_ATTEMPTS = 4


@dataclass
class Rig:
    prefer: PreferProxy
    gateway: StripeGateway

    def sent(self, since: int = 0) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.gateway.checked(since)]


@pytest.fixture
async def rig(tmp_path: Path, prism: PrismServers) -> AsyncIterator[Rig]:
    async with (
        PreferProxy(prism.url(PRISM_SPEC)) as prefer,
        stripe_gateway(tmp_path, prefer.url) as gateway,
    ):
        yield Rig(prefer, gateway)


def shaped(operation: str, result: Any) -> dict[str, Any]:
    """The result as the operation's result model reads it, with every declared field."""
    spec = PLUGIN.metadata.operation(operation)
    assert spec is not None
    assert spec.result_model is not None
    fields = json_format.MessageToDict(result)
    assert set(fields) == set(spec.result_model.model_fields), sorted(fields)
    spec.result_model.model_validate(fields)
    return fields


LINK = {
    "line_items": [{"price": "price_1", "quantity": 2}, {"price": "price_2", "quantity": 1}],
    "redirect_url": "https://shop.example.com/thanks",
    "metadata": {"campaign": "spring"},
}

OPERATIONS: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "create_customer",
        {"email": "ada@example.com", "name": "Ada Lovelace", "metadata": {"crm": "42"}},
        [("POST", "/v1/customers")],
    ),
    (
        "create_payment_intent",
        {"amount": 2000, "currency": "usd", "customer": "cus_1", "metadata": {"order": "A-1"}},
        [("POST", "/v1/payment_intents")],
    ),
    (
        "cancel_payment_intent",
        {"payment_intent": "pi_123", "cancellation_reason": "abandoned"},
        [("POST", "/v1/payment_intents/pi_123/cancel")],
    ),
    (
        "create_refund",
        {"payment_intent": "pi_123", "amount": 500, "reason": "requested_by_customer"},
        [("POST", "/v1/refunds")],
    ),
    ("create_payment_link", LINK, [("POST", "/v1/payment_links")]),
    ("delete_customer", {"customer": "cus_123"}, [("DELETE", "/v1/customers/cus_123")]),
    (
        "deactivate_payment_link",
        {"payment_link": "plink_123"},
        [("POST", "/v1/payment_links/plink_123")],
    ),
    (
        "reverse_payment_intent",
        {"payment_intent": "pi_123"},
        [("GET", "/v1/payment_intents/pi_123")],
    ),
]


async def test_the_read_runs_without_approval(rig: Rig) -> None:
    read = await rig.gateway.read("get_payment_intent", payment_intent="pi_123")
    fields = shaped("get_payment_intent", read.result)
    assert (fields["id"], fields["status"]) == ("string", "canceled")
    assert rig.sent() == [("GET", "/v1/payment_intents/pi_123")]
    assert rig.gateway.gw.audit_rows()[-1]["event_type"] == "payment_read"


@pytest.mark.parametrize(
    ("operation", "payload", "expected"), OPERATIONS, ids=[op for op, _, _ in OPERATIONS]
)
async def test_each_write_runs_once_approved(
    rig: Rig, operation: str, payload: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    done = await rig.gateway.approved(request(operation, f"{operation}-1", **payload))
    shaped(operation, done.result)
    assert rig.sent() == expected
    spec = PLUGIN.metadata.operation(operation)
    assert spec is not None
    assert rig.gateway.gw.audit_rows()[-1]["event_type"] == spec.success_event


async def test_the_payment_links_nested_fields_reach_stripe_as_its_form(rig: Rig) -> None:
    await rig.gateway.approved(request("create_payment_link", "link-1", **LINK))
    [sent] = rig.gateway.checked()
    assert sent.form() == [
        ("line_items[0][price]", "price_1"),
        ("line_items[0][quantity]", "2"),
        ("line_items[1][price]", "price_2"),
        ("line_items[1][quantity]", "1"),
        ("metadata[campaign]", "spring"),
        ("after_completion[type]", "redirect"),
        ("after_completion[redirect][url]", "https://shop.example.com/thanks"),
    ]
    assert rig.gateway.recorder.statuses == [200]


@pytest.mark.parametrize(
    ("create", "payload", "undo", "undo_requests", "result"),
    [
        (
            "create_customer",
            {"name": "Ada"},
            "delete_customer",
            [("DELETE", "/v1/customers/string")],
            {"id": "string", "deleted": True},
        ),
        (
            "create_payment_link",
            {"line_items": [{"price": "price_1", "quantity": 1}]},
            "deactivate_payment_link",
            [("POST", "/v1/payment_links/string")],
            None,
        ),
        (
            "create_payment_intent",
            {"amount": 2000, "currency": "usd"},
            "reverse_payment_intent",
            [("GET", "/v1/payment_intents/string")],
            {"payment_intent": "string", "action": "none", "status": "canceled", "refund": None},
        ),
    ],
    ids=["customer", "payment_link", "payment_intent"],
)
async def test_each_undo_is_sent_once(
    rig: Rig,
    create: str,
    payload: dict[str, Any],
    undo: str,
    undo_requests: list[tuple[str, str]],
    result: dict[str, Any] | None,
) -> None:
    done = await rig.gateway.approved(request(create, f"{create}-1", **payload))
    undone = await rig.gateway.undo(done.execution_id)
    assert undone.compensating_operation == undo
    fields = shaped(undo, undone.result)
    if result is not None:
        assert fields == result
    assert rig.sent(since=1) == undo_requests
    if undo_requests[0] == ("POST", "/v1/payment_links/string"):
        assert rig.gateway.recorder.last().form() == [("active", "false")]

    again = await rig.gateway.compensate(
        pb.CompensateRequest(execution_id=done.execution_id, reason="again", idempotency_key="u2")
    )
    assert again.replayed is True
    assert dict(again.result) == dict(undone.result)
    assert len(rig.gateway.recorder.requests) == 1 + len(undo_requests)


@pytest.mark.parametrize(
    ("status", "code", "reason", "attempts"),
    [
        (400, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", 1),
        (401, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_AUTH_FAILED", 1),
        (404, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", 1),
        (429, grpc.StatusCode.RESOURCE_EXHAUSTED, "VENDOR_RATE_LIMITED", ALL_ATTEMPTS),
        (500, grpc.StatusCode.UNAVAILABLE, "VENDOR_ERROR", 1),
        (503, grpc.StatusCode.UNAVAILABLE, "VENDOR_UNAVAILABLE", ALL_ATTEMPTS),
    ],
)
async def test_stripe_error_statuses_map_to_documented_reasons(
    rig: Rig, status: int, code: grpc.StatusCode, reason: str, attempts: int
) -> None:
    rig.prefer.prefer = f"code={status}"
    seen = await refused_rpc(
        rig.gateway.read("get_payment_intent", payment_intent="pi_123"), rig.gateway.gw
    )
    assert (seen.code, seen.reason) == (code, reason)
    assert seen.metadata["vendor_status"] == str(status)
    assert seen.metadata["connector_key"] == "stripe"
    assert seen.metadata["attempts"] == str(attempts)
    assert rig.gateway.recorder.statuses == [status] * attempts
    assert rig.sent() == [("GET", "/v1/payment_intents/pi_123")] * attempts
    assert seen.audit_row()["event_type"] == "payment_read_failed"


async def test_a_write_stripe_failed_is_unknown_until_the_same_key_is_sent_again(
    rig: Rig,
) -> None:
    call = request("create_payment_intent", "order-1", amount=2000, currency="usd")
    rig.prefer.prefer = "code=500"
    seen = await refused_rpc(rig.gateway.approved(call), rig.gateway.gw)
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert seen.metadata["cause"] == "VENDOR_ERROR"
    execution_id = seen.metadata["execution_id"]
    assert await rig.gateway.listed(epb.EXECUTION_STATUS_UNKNOWN) == [execution_id]

    rig.prefer.prefer = None
    settled = await rig.gateway.send(call)
    assert settled.execution_id == execution_id
    shaped("create_payment_intent", settled.result)
    first, second = rig.gateway.checked()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.body == second.body
    assert (await rig.gateway.execution(execution_id)).status == epb.EXECUTION_STATUS_SUCCEEDED


async def test_a_write_stripe_rejected_is_answered_again_without_asking_stripe(rig: Rig) -> None:
    call = request("create_refund", "refund-1", payment_intent="pi_123")
    rig.prefer.prefer = "code=400"
    seen = await refused_rpc(rig.gateway.approved(call), rig.gateway.gw)
    assert (seen.reason, seen.metadata["vendor_status"]) == ("VENDOR_REJECTED", "400")
    again = await refused_rpc(rig.gateway.send(call), rig.gateway.gw)
    assert (again.reason, again.metadata["replayed"]) == ("VENDOR_REJECTED", "true")
    assert rig.sent() == [("POST", "/v1/refunds")]
