"""The stripe connector through the real gateway to a stateful fake Stripe that honours
Idempotency-Key: an unknown outcome settled by sending the same key again with no second
side effect, each undo sent once, bad payloads kept from Stripe, and the key kept out of
audit rows and logs."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from tests.adapters.stripe.fake_stripe import FakeStripe, body_of, fake_stripe
from tests.integration.reasons.observe import OPERATOR, executions, granted, refused_rpc
from tests.integration.stripe_rig import KEY, StripeGateway, request, stripe_gateway
from tests.support.vendor_recorder import VendorRecorder

pytestmark = pytest.mark.timeout(60)

ALL_ATTEMPTS = 4  # the first attempt and the declared policy's three retries


@dataclass
class Rig:
    stripe: FakeStripe
    gateway: StripeGateway

    @property
    def recorder(self) -> VendorRecorder:
        return self.gateway.recorder


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with fake_stripe(KEY) as stripe, stripe_gateway(tmp_path, stripe.url) as gateway:
        yield Rig(stripe, gateway)


def payment(key: str) -> pb.ExecuteRequest:
    return request("create_payment_intent", key, amount=2000, currency="usd")


async def test_an_unknown_outcome_is_settled_by_sending_the_same_key_again(rig: Rig) -> None:
    call = payment("order-17")
    call.approval_id = await granted(rig.gateway.gw, call)
    # Stripe creates the intent each time it is asked, but no answer comes back: the first
    # attempt and every retry (each with the same Idempotency-Key) lose their answer.
    rig.recorder.drop_after_forwarding(ALL_ATTEMPTS)
    seen = await refused_rpc(rig.gateway.send(call), rig.gateway.gw)
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert seen.metadata["attempts"] == str(ALL_ATTEMPTS)
    unknown = seen.metadata["execution_id"]
    assert await rig.gateway.listed(epb.EXECUTION_STATUS_UNKNOWN) == [unknown]
    [(created, intent)] = rig.stripe.effects
    assert created == "payment_intent_created"

    # The agent sends the same request again: the gateway sends it to Stripe again under the
    # same Idempotency-Key, and Stripe's stored answer settles the execution.
    settled = await rig.gateway.send(call)
    assert settled.execution_id == unknown
    assert settled.result["id"] == intent
    assert settled.result["status"] == "requires_payment_method"
    assert rig.stripe.effects == [("payment_intent_created", intent)]
    assert rig.stripe.replays == ALL_ATTEMPTS
    sent = rig.gateway.checked()
    assert [(r.method, r.path) for r in sent] == [("POST", "/v1/payment_intents")] * 5
    assert len({r.headers["Idempotency-Key"] for r in sent}) == 1
    assert "order-17" not in sent[0].headers["Idempotency-Key"]
    execution = await rig.gateway.execution(unknown)
    assert execution.status == epb.EXECUTION_STATUS_SUCCEEDED
    assert await rig.gateway.listed(epb.EXECUTION_STATUS_UNKNOWN) == []

    # From now on the gateway answers from its own record; Stripe hears nothing more.
    again = await rig.gateway.send(call)
    assert (again.replayed, again.execution_id, dict(again.result)) == (
        True,
        unknown,
        dict(settled.result),
    )
    assert len(rig.recorder.requests) == 5


async def test_an_operator_settles_an_unknown_outcome_by_replaying_the_same_key(
    rig: Rig,
) -> None:
    call = payment("order-19")
    call.approval_id = await granted(rig.gateway.gw, call)
    rig.recorder.drop_after_forwarding(ALL_ATTEMPTS)
    seen = await refused_rpc(rig.gateway.send(call), rig.gateway.gw)
    assert seen.reason == "OUTCOME_UNKNOWN"
    unknown = seen.metadata["execution_id"]
    [(_, intent)] = rig.stripe.effects

    # No agent comes back: an operator asks Stripe, which answers the same key from its store.
    answer = await executions(rig.gateway.gw).ReconcileExecution(
        epb.ReconcileExecutionRequest(execution_id=unknown), metadata=OPERATOR, timeout=30
    )
    assert answer.found
    assert answer.execution.status == epb.EXECUTION_STATUS_SUCCEEDED
    assert answer.execution.result["id"] == intent
    assert rig.stripe.effects == [("payment_intent_created", intent)]  # nothing acted again
    # Stripe replayed the call's three retries and the operator's question.
    assert rig.stripe.replays == ALL_ATTEMPTS
    sent = rig.gateway.checked()
    assert len({r.headers["Idempotency-Key"] for r in sent}) == 1
    # The agent's own repeat later replays the settled answer without asking Stripe.
    again = await rig.gateway.send(call)
    assert (again.replayed, again.execution_id) == (True, unknown)
    assert len(rig.recorder.requests) == ALL_ATTEMPTS + 1


async def test_an_answer_lost_once_is_asked_for_again_within_the_call(rig: Rig) -> None:
    rig.recorder.drop_after_forwarding(1)
    done = await rig.gateway.approved(payment("order-18"))
    assert done.attempts == 2
    [(_, intent)] = rig.stripe.effects
    assert done.result["id"] == intent
    assert rig.stripe.replays == 1
    first, second = rig.gateway.checked()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


async def test_an_uncaptured_payment_is_undone_by_one_cancel(rig: Rig) -> None:
    done = await rig.gateway.approved(payment("order-19"))
    intent = done.result["id"]
    undone = await rig.gateway.undo(done.execution_id)
    assert undone.compensating_operation == "reverse_payment_intent"
    assert dict(undone.result) == {
        "payment_intent": intent,
        "action": "canceled",
        "status": "canceled",
        "refund": None,
    }
    create, get, cancel = rig.gateway.checked()
    assert (get.method, get.path) == ("GET", f"/v1/payment_intents/{intent}")
    assert (cancel.method, cancel.path) == ("POST", f"/v1/payment_intents/{intent}/cancel")
    # The undo carries a marker of its own, never the action's.
    assert cancel.headers["Idempotency-Key"] != create.headers["Idempotency-Key"]

    # A second Compensate, under any key, gets the first one's answer; Stripe hears nothing.
    again = await rig.gateway.compensate(
        pb.CompensateRequest(execution_id=done.execution_id, reason="again", idempotency_key="u9")
    )
    assert again.replayed is True
    assert dict(again.result) == dict(undone.result)
    assert len(rig.recorder.requests) == 3
    assert [e for e, _ in rig.stripe.effects] == [
        "payment_intent_created",
        "payment_intent_canceled",
    ]
    assert (await rig.gateway.execution(done.execution_id)).status == (
        epb.EXECUTION_STATUS_COMPENSATED
    )


async def test_a_captured_payment_is_undone_by_a_full_refund(rig: Rig) -> None:
    done = await rig.gateway.approved(payment("order-20"))
    intent = done.result["id"]
    rig.stripe.settle(intent)
    undone = await rig.gateway.undo(done.execution_id)
    [refund] = rig.stripe.refunds
    assert dict(undone.result) == {
        "payment_intent": intent,
        "action": "refunded",
        "status": "succeeded",
        "refund": refund,
    }
    *_, refunded = rig.gateway.checked()
    assert (refunded.method, refunded.path) == ("POST", "/v1/refunds")
    assert body_of(refunded.body) == {"payment_intent": intent}
    assert rig.stripe.refunds[refund]["amount"] == 2000


async def test_an_undo_whose_answer_was_lost_is_settled_by_the_same_compensate(rig: Rig) -> None:
    created = await rig.gateway.approved(
        request("create_payment_link", "link-2", line_items=[{"price": "price_1", "quantity": 1}])
    )
    link = created.result["id"]
    call = pb.CompensateRequest(execution_id=created.execution_id, reason="r", idempotency_key="u")
    rig.recorder.drop_after_forwarding(ALL_ATTEMPTS)  # Stripe acts; no answer comes back
    seen = await refused_rpc(rig.gateway.approved_undo(call), rig.gateway.gw)
    assert seen.reason == "OUTCOME_UNKNOWN"
    assert seen.metadata["attempts"] == str(ALL_ATTEMPTS)

    settled = await rig.gateway.compensate(call)
    assert (settled.result["id"], settled.result["active"]) == (link, False)
    assert rig.stripe.effects == [("payment_link_created", link), ("payment_link_updated", link)]
    assert rig.stripe.replays == ALL_ATTEMPTS
    create, *undos = rig.gateway.checked()
    assert [(r.method, r.path) for r in undos] == [("POST", f"/v1/payment_links/{link}")] * 5
    markers = {r.headers["Idempotency-Key"] for r in undos}
    assert len(markers) == 1
    assert create.headers["Idempotency-Key"] not in markers
    assert (await rig.gateway.execution(created.execution_id)).status == (
        epb.EXECUTION_STATUS_COMPENSATED
    )


async def test_a_delete_whose_answer_was_lost_finds_the_customer_deleted(rig: Rig) -> None:
    created = await rig.gateway.approved(
        request("create_customer", "cust-1", email="ada@example.com", name="Ada")
    )
    customer = created.result["id"]
    rig.recorder.drop_after_forwarding(1)  # the DELETE acts; its answer is lost
    undone = await rig.gateway.undo(created.execution_id)
    assert dict(undone.result) == {"id": customer, "deleted": True}
    assert [e for e, _ in rig.stripe.effects] == ["customer_created", "customer_deleted"]
    path = f"/v1/customers/{customer}"
    # Sent again, the DELETE finds nothing; the customer then reads as deleted.
    assert [(r.method, r.path) for r in rig.gateway.checked()] == [
        ("POST", "/v1/customers"),
        ("DELETE", path),
        ("DELETE", path),
        ("GET", path),
    ]
    assert rig.recorder.statuses[1:] == [200, 404, 200]


async def test_a_payment_link_is_undone_by_deactivating_it_once(rig: Rig) -> None:
    done = await rig.gateway.approved(
        request(
            "create_payment_link",
            "link-1",
            line_items=[{"price": "price_1", "quantity": 3}],
            metadata={"campaign": "spring"},
        )
    )
    link = done.result["id"]
    undone = await rig.gateway.undo(done.execution_id)
    assert (undone.result["id"], undone.result["active"]) == (link, False)
    create, deactivate = rig.gateway.checked()
    assert body_of(create.body) == {
        "line_items[0][price]": "price_1",
        "line_items[0][quantity]": "3",
        "metadata[campaign]": "spring",
    }
    assert (deactivate.path, body_of(deactivate.body)) == (
        f"/v1/payment_links/{link}",
        {"active": "false"},
    )
    assert rig.stripe.links[link]["active"] is False


async def test_a_refund_cannot_be_undone_and_stripe_hears_nothing_of_it(rig: Rig) -> None:
    done = await rig.gateway.approved(payment("order-21"))
    rig.stripe.settle(done.result["id"])
    refund = await rig.gateway.approved(
        request("create_refund", "refund-1", payment_intent=done.result["id"])
    )
    sent = len(rig.recorder.requests)
    seen = await refused_rpc(
        rig.gateway.compensate(
            pb.CompensateRequest(execution_id=refund.execution_id, reason="r", idempotency_key="u")
        ),
        rig.gateway.gw,
    )
    assert (seen.code, seen.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_COMPENSABLE")
    assert seen.metadata == {"connector_key": "stripe", "operation": "create_refund"}
    assert len(rig.recorder.requests) == sent


@pytest.mark.parametrize(
    ("operation", "payload", "field"),
    [
        ("create_payment_intent", {"amount": 20.5, "currency": "usd"}, "payload.amount"),
        ("create_payment_intent", {"amount": 2000, "currency": "usd", "confirm": True}, "payload"),
        ("get_payment_intent", {"payment_intent": "pi_1_secret_x"}, "payload.payment_intent"),
        ("create_customer", {"metadata": {"a[0]": "x"}}, "payload.metadata"),
        ("create_payment_link", {"line_items": []}, "payload.line_items"),
        ("delete_customer", {"customer": "cus_1/../../v1/balance"}, "payload.customer"),
    ],
)
async def test_a_payload_that_breaks_the_model_never_reaches_stripe(
    rig: Rig, operation: str, payload: dict[str, object], field: str
) -> None:
    seen = await refused_rpc(
        rig.gateway.send(request(operation, "bad-1", **payload)), rig.gateway.gw
    )
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
    assert any(name.startswith(field) for name in seen.fields), seen.fields
    assert rig.recorder.requests == []
    assert "approval_requested" not in [r["event_type"] for r in seen.audit_rows]


async def test_the_key_never_reaches_audit_rows_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # This Stripe knows another key, and quotes the one it was given back in its refusal.
    async with (
        fake_stripe("sk_test_AnotherAccountsKey") as stripe,
        stripe_gateway(tmp_path, stripe.url) as gateway,
    ):
        seen = await refused_rpc(
            gateway.read("get_payment_intent", payment_intent="pi_1"), gateway.gw
        )
        refused = await refused_rpc(
            gateway.approved(request("create_customer", "c-1", name="Ada")), gateway.gw
        )
        rows = gateway.gw.audit_rows()
        spans = [dict(s.attributes or {}) for s in gateway.gw.spans.get_finished_spans()]
    assert seen.reason == refused.reason == "VENDOR_AUTH_FAILED"
    assert seen.metadata["vendor_status"] == "401"
    assert len(rows) >= 4
    for text in (
        json.dumps(rows, default=str),
        caplog.text,
        repr(spans),
        repr(seen),
        repr(refused),
    ):
        assert KEY not in text
        assert KEY.removeprefix("sk_test_") not in text


async def test_a_class_a_read_runs_without_approval_and_never_returns_the_secret(
    rig: Rig,
) -> None:
    created = await rig.gateway.approved(payment("order-22"))
    read = await rig.gateway.read("get_payment_intent", payment_intent=created.result["id"])
    assert dict(read.result) == dict(created.result)
    assert "client_secret" not in read.result
    assert rig.stripe.intents[created.result["id"]]["client_secret"]
    _, get = rig.gateway.checked()
    assert (get.method, get.path) == ("GET", f"/v1/payment_intents/{created.result['id']}")
    row = rig.gateway.gw.audit_rows()[-1]
    assert (row["event_type"], row["event_id"]) == ("payment_read", read.audit_event_id)
