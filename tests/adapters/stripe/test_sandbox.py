"""The real Stripe adapter against the Stripe sandbox: every operation and undo (a payment
canceled, one refunded after the customer's side confirmed it, one held for capture), the
probe, Idempotency-Key replay, tenants kept apart, parameters refused as Stripe refuses them,
answers in the shapes of Stripe's published description, and each kind of fault."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.stripe.account import StripeAccount
from adapters.stripe.adapter import StripeAdapter
from adapters.stripe.operations import (
    CancelPaymentIntent,
    CreateCustomer,
    CreatePaymentIntent,
    CreatePaymentLink,
    CreateRefund,
    DeactivatePaymentLink,
    DeleteCustomer,
    GetPaymentIntent,
    LineItem,
    ReversePaymentIntent,
)
from adapters.stripe.sandbox import StripeSandbox
from gateway.errors import (
    GatewayError,
    VendorAuthFailed,
    VendorError,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from gateway.sandbox import SandboxFault
from tests.support.vendor_adapters import (
    SandboxRig,
    attempt,
    fault_of,
    faulty,
    initialized,
    serving,
)
from tests.support.vendor_answers import answer_problems
from tests.support.vendor_schema import VendorSchema

pytestmark = pytest.mark.timeout(30)

SPEC = "stripe/spec3.trimmed.yaml"


class Rig(SandboxRig[StripeSandbox, StripeAdapter]):
    async def call(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        tenant: str = "acme",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """A request as Stripe's own client would send it, with the tenant's key."""
        account = self.sandbox.account_for(tenant)
        assert account.api_key is not None
        sent = {"Authorization": f"Bearer {account.api_key.get_secret_value()}", **(headers or {})}
        async with self.session.request(
            method, f"{account.base_url}{path}", data=form, headers=sent
        ) as answer:
            return answer.status, await answer.json(), dict(answer.headers)


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with Rig.started(StripeSandbox(fault_of(request)), StripeAdapter) as started:
        yield started


async def test_the_account_points_at_loopback_with_a_secret_key_of_each_tenant(rig: Rig) -> None:
    acme, globex = rig.sandbox.account_for("acme"), rig.sandbox.account_for("globex")
    assert acme.base_url == globex.base_url == rig.sandbox.base_url
    assert acme.base_url.startswith("http://127.0.0.1:")
    assert acme.api_key is not None
    assert globex.api_key is not None
    assert acme.api_key.get_secret_value().startswith("sk_test_")
    assert acme.api_key != globex.api_key
    assert rig.sandbox.account_for("acme") == acme


async def test_a_customer_is_created_then_deleted_by_the_undo_and_a_repeat_counts_as_done(
    rig: Rig,
) -> None:
    created = await rig.run(
        "create_customer",
        CreateCustomer(email="ada@example.com", name="Ada", metadata={"crm": "42"}),
    )
    assert created["id"].startswith("cus_")
    assert (created["email"], created["name"], created["metadata"]) == (
        "ada@example.com",
        "Ada",
        {"crm": "42"},
    )
    assert created["livemode"] is False

    undone = await rig.undo("delete_customer", created)
    assert undone == {"id": created["id"], "deleted": True}
    again = await rig.run("delete_customer", DeleteCustomer(customer=created["id"]))
    assert again == {"id": created["id"], "deleted": True}  # 404, then read as deleted
    status, body, _ = await rig.call("GET", f"/v1/customers/{created['id']}")
    assert (status, body) == (200, {"id": created["id"], "object": "customer", "deleted": True})

    with pytest.raises(VendorRejected) as never:
        await rig.run("delete_customer", DeleteCustomer(customer="cus_never"))
    assert never.value.metadata["vendor_code"] == "resource_missing"
    assert rig.events() == ["customer.created", "customer.deleted"]


async def test_a_payment_intent_is_read_canceled_and_then_needs_no_undo(rig: Rig) -> None:
    customer = await rig.run("create_customer", CreateCustomer(email="ada@example.com"))
    created = await rig.run(
        "create_payment_intent",
        CreatePaymentIntent(
            amount=2000, currency="usd", customer=customer["id"], metadata={"order": "A-1"}
        ),
    )
    assert (created["status"], created["amount"], created["currency"]) == (
        "requires_payment_method",
        2000,
        "usd",
    )
    assert "client_secret" not in created
    read = await rig.run("get_payment_intent", GetPaymentIntent(payment_intent=created["id"]))
    assert read == created

    canceled = await rig.run(
        "cancel_payment_intent",
        CancelPaymentIntent(payment_intent=created["id"], cancellation_reason="duplicate"),
    )
    assert (canceled["status"], canceled["cancellation_reason"]) == ("canceled", "duplicate")
    with pytest.raises(VendorRejected) as twice:
        await rig.run("cancel_payment_intent", CancelPaymentIntent(payment_intent=created["id"]))
    assert twice.value.metadata["vendor_code"] == "payment_intent_unexpected_state"

    undone = await rig.undo("reverse_payment_intent", created)
    assert (undone["action"], undone["status"]) == ("none", "canceled")
    assert rig.events()[1:] == ["payment_intent.created", "payment_intent.canceled"]


async def test_the_undo_cancels_a_payment_nobody_confirmed(rig: Rig) -> None:
    created = await rig.run(
        "create_payment_intent",
        CreatePaymentIntent(amount=1500, currency="eur", payment_method="pm_card_visa"),
    )
    assert created["status"] == "requires_confirmation"
    undone = await rig.run(
        "reverse_payment_intent", ReversePaymentIntent(payment_intent=created["id"])
    )
    assert undone == {
        "payment_intent": created["id"],
        "action": "canceled",
        "status": "canceled",
        "refund": None,
    }


async def test_a_confirmed_payment_is_refunded_in_part_then_the_undo_refunds_the_rest(
    rig: Rig,
) -> None:
    created = await rig.run(
        "create_payment_intent",
        CreatePaymentIntent(amount=2000, currency="usd", payment_method="pm_card_visa"),
    )
    status, confirmed, _ = await rig.call(
        "POST", f"/v1/payment_intents/{created['id']}/confirm"
    )  # the customer's side
    assert (status, confirmed["status"], confirmed["amount_received"]) == (200, "succeeded", 2000)
    read = await rig.run("get_payment_intent", GetPaymentIntent(payment_intent=created["id"]))
    assert (read["status"], read["latest_charge"]) == ("succeeded", confirmed["latest_charge"])

    with pytest.raises(VendorRejected) as not_cancelable:
        await rig.run("cancel_payment_intent", CancelPaymentIntent(payment_intent=created["id"]))
    assert not_cancelable.value.metadata["vendor_code"] == "payment_intent_unexpected_state"

    part = await rig.run(
        "create_refund",
        CreateRefund(payment_intent=created["id"], amount=500, reason="requested_by_customer"),
    )
    assert (part["amount"], part["status"], part["reason"]) == (
        500,
        "succeeded",
        "requested_by_customer",
    )
    undone = await rig.undo("reverse_payment_intent", created)
    assert (undone["action"], undone["status"]) == ("refunded", "succeeded")
    status, _, _ = await rig.call("GET", "/v1/balance")
    assert status == 200
    with pytest.raises(VendorRejected) as nothing_left:
        await rig.run("create_refund", CreateRefund(payment_intent=created["id"]))
    assert nothing_left.value.metadata["vendor_code"] == "charge_already_refunded"

    refunds = [e for e in rig.sandbox.received("acme") if e["event"] == "refund.created"]
    assert [(r["id"], r["amount"]) for r in refunds] == [
        (part["id"], 500),
        (undone["refund"], 1500),
    ]


async def test_the_balance_holds_what_was_received_less_what_was_refunded(rig: Rig) -> None:
    for amount, marker in ((3000, "a"), (1000, "b")):
        created = await rig.run(
            "create_payment_intent",
            CreatePaymentIntent(amount=amount, currency="sar", payment_method="pm_card_mastercard"),
            marker=marker * 64,
        )
        await rig.call("POST", f"/v1/payment_intents/{created['id']}/confirm")
    await rig.run("create_refund", CreateRefund(payment_intent=created["id"], amount=400))
    status, balance, _ = await rig.call("GET", "/v1/balance")
    assert (status, balance["available"]) == (
        200,
        [{"amount": 3600, "currency": "sar", "source_types": {"card": 3600}}],
    )


async def test_a_payment_held_for_capture_is_canceled_by_the_undo_or_captured_then_refunded(
    rig: Rig,
) -> None:
    held: list[str] = []
    for _ in range(2):
        status, intent, _ = await rig.call(
            "POST",
            "/v1/payment_intents",
            {
                "amount": "900",
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "capture_method": "manual",
            },
        )
        status, intent, _ = await rig.call("POST", f"/v1/payment_intents/{intent['id']}/confirm")
        assert (status, intent["status"], intent["amount_capturable"]) == (
            200,
            "requires_capture",
            900,
        )
        held.append(intent["id"])

    released = await rig.run("reverse_payment_intent", ReversePaymentIntent(payment_intent=held[0]))
    assert (released["action"], released["status"]) == ("canceled", "canceled")

    status, captured, _ = await rig.call(
        "POST", f"/v1/payment_intents/{held[1]}/capture", {"amount_to_capture": "600"}
    )
    assert (status, captured["status"], captured["amount_received"]) == (200, "succeeded", 600)
    refunded = await rig.run("reverse_payment_intent", ReversePaymentIntent(payment_intent=held[1]))
    assert refunded["action"] == "refunded"
    [refund] = [e for e in rig.sandbox.received("acme") if e["event"] == "refund.created"]
    assert refund["amount"] == 600


async def test_a_declining_card_is_refused_as_stripe_refuses_it(rig: Rig) -> None:
    created = await rig.run(
        "create_payment_intent",
        CreatePaymentIntent(amount=700, currency="usd", payment_method="pm_card_chargeDeclined"),
    )
    status, body, _ = await rig.call("POST", f"/v1/payment_intents/{created['id']}/confirm")
    assert (status, body["error"]["type"], body["error"]["code"]) == (
        402,
        "card_error",
        "card_declined",
    )
    assert body["error"]["decline_code"] == "generic_decline"
    read = await rig.run("get_payment_intent", GetPaymentIntent(payment_intent=created["id"]))
    assert read["status"] == "requires_payment_method"
    with pytest.raises(VendorRejected) as unknown_card:
        await rig.run(
            "create_payment_intent",
            CreatePaymentIntent(amount=700, currency="usd", payment_method="pm_card_unheardof"),
        )
    assert unknown_card.value.metadata["vendor_code"] == "resource_missing"


async def test_a_payment_link_is_created_with_its_redirect_then_deactivated(rig: Rig) -> None:
    created = await rig.run(
        "create_payment_link",
        CreatePaymentLink(
            line_items=[
                LineItem(price="price_1", quantity=2),
                LineItem(price="price_2", quantity=1),
            ],
            redirect_url="https://shop.example.com/thanks",
            metadata={"campaign": "spring"},
        ),
    )
    assert created["id"].startswith("plink_")
    assert (created["active"], created["metadata"]) == (True, {"campaign": "spring"})
    assert created["url"].startswith("https://")
    undone = await rig.undo("deactivate_payment_link", created)
    assert (undone["id"], undone["active"]) == (created["id"], False)
    again = await rig.run(
        "deactivate_payment_link", DeactivatePaymentLink(payment_link=created["id"])
    )
    assert again["active"] is False  # a link already inactive stays so
    [made, *updates] = rig.sandbox.received("acme")
    assert made["line_items"] == [
        {"price": "price_1", "quantity": 2},
        {"price": "price_2", "quantity": 1},
    ]
    assert [u["active"] for u in updates] == [False, False]


async def test_the_probe_reads_the_balance_and_a_key_the_sandbox_never_issued_is_refused(
    rig: Rig,
) -> None:
    assert (await rig.adapter.health_check()).ok
    account = StripeAccount(api_key="sk_test_" + "0" * 48, base_url=rig.sandbox.base_url)
    async with initialized(StripeAdapter(account)) as stranger:
        probe = await stranger.health_check()
        assert not probe.ok
        assert isinstance(probe.error, VendorAuthFailed)
        assert "sk_test_" not in probe.detail
        with pytest.raises(VendorAuthFailed):
            await stranger.execute(
                "create_customer", CreateCustomer(email="x@example.com"), attempt(marker="f" * 64)
            )
    assert rig.sandbox.received("acme") == []


async def test_the_same_idempotency_key_replays_the_first_answer_and_acts_once(rig: Rig) -> None:
    payload = CreatePaymentIntent(amount=1200, currency="usd")
    first = await rig.run("create_payment_intent", payload, marker="a" * 64)
    await rig.run("cancel_payment_intent", CancelPaymentIntent(payment_intent=first["id"]))
    again = await rig.run("create_payment_intent", payload, marker="a" * 64)
    assert again == first  # the stored answer, from before the cancellation
    assert rig.events() == ["payment_intent.created", "payment_intent.canceled"]

    status, body, headers = await rig.call(
        "POST",
        "/v1/payment_intents",
        {"amount": "1200", "currency": "usd"},
        headers={"Idempotency-Key": "a" * 64},
    )
    assert (status, body["id"], headers["Idempotent-Replayed"]) == (200, first["id"], "true")

    with pytest.raises(VendorRejected) as other:
        await rig.run(
            "create_payment_intent", CreatePaymentIntent(amount=1300, currency="usd"), "a" * 64
        )
    assert other.value.metadata["vendor_code"] == "idempotency_error"
    assert "new idempotency key" in other.value.message
    assert rig.events() == ["payment_intent.created", "payment_intent.canceled"]


async def test_an_error_of_a_request_that_ran_is_replayed_but_a_refused_one_is_not_kept(
    rig: Rig,
) -> None:
    key = {"Idempotency-Key": "k" * 64}
    refund = {"payment_intent": "pi_nothere"}
    first = await rig.call("POST", "/v1/refunds", refund, headers=key)
    second = await rig.call("POST", "/v1/refunds", refund, headers=key)
    assert (first[0], first[1]) == (second[0], second[1])
    assert first[1]["error"]["code"] == "resource_missing"
    assert second[2]["Idempotent-Replayed"] == "true"

    other = {"Idempotency-Key": "m" * 64}
    refused = await rig.call("POST", "/v1/customers", {"emial": "x@example.com"}, headers=other)
    assert (refused[0], refused[1]["error"]["code"], refused[1]["error"]["param"]) == (
        400,
        "parameter_unknown",
        "emial",
    )
    made = await rig.call("POST", "/v1/customers", {"email": "x@example.com"}, headers=other)
    assert made[0] == 200
    assert "Idempotent-Replayed" not in made[2]
    assert rig.events() == ["customer.created"]


@pytest.mark.parametrize(
    ("form", "code", "param"),
    [
        ({"currency": "usd"}, "parameter_missing", "amount"),
        ({"amount": "12.5", "currency": "usd"}, "parameter_invalid_integer", "amount"),
        ({"amount": "100", "currency": "usd", "confirm": "true"}, "parameter_unknown", "confirm"),
        ({"amount": "100", "currency": "usd", "metadata[a][b]": "x"}, None, "metadata[a]"),
        (
            {"amount": "100", "currency": "usd", "customer": "cus_nothere"},
            "resource_missing",
            "customer",
        ),
    ],
)
async def test_parameters_stripe_would_refuse_are_refused_naming_them(
    rig: Rig, form: dict[str, str], code: str | None, param: str
) -> None:
    status, body, _ = await rig.call("POST", "/v1/payment_intents", form)
    assert status == 400
    assert (body["error"]["type"], body["error"].get("code"), body["error"]["param"]) == (
        "invalid_request_error",
        code,
        param,
    )
    assert rig.sandbox.received("acme") == []


async def test_a_form_key_that_does_not_nest_is_refused(rig: Rig) -> None:
    status, body, _ = await rig.call("POST", "/v1/customers", {"metadata": "x", "metadata[a]": "y"})
    assert (status, body["error"]["type"]) == (400, "invalid_request_error")
    assert rig.sandbox.received("acme") == []


async def test_each_tenant_sees_its_own_objects_only(rig: Rig) -> None:
    created = await rig.run(
        "create_payment_intent", CreatePaymentIntent(amount=100, currency="usd")
    )
    status, body, _ = await rig.call("GET", f"/v1/payment_intents/{created['id']}", tenant="globex")
    assert (status, body["error"]["code"], body["error"]["param"]) == (
        404,
        "resource_missing",
        "intent",
    )
    # The same idempotency key is another tenant's own.
    status, body, headers = await rig.call(
        "POST", "/v1/customers", {}, tenant="globex", headers={"Idempotency-Key": "1" * 64}
    )
    assert status == 200
    assert "Idempotent-Replayed" not in headers
    assert rig.events("globex") == ["customer.created"]
    assert rig.events("acme") == ["payment_intent.created"]


async def test_every_answer_has_the_shape_of_stripes_description(rig: Rig) -> None:
    schema = VendorSchema.load(SPEC)
    seen: list[tuple[str, str, int]] = []

    async def checked(
        method: str, path: str, template: str, form: dict[str, str] | None = None
    ) -> dict[str, Any]:
        status, body, _ = await rig.call(method, path, form)
        assert answer_problems(schema, method, path, status, body) == [], (method, template, body)
        seen.append((method, template, status))
        return body

    customer = await checked(
        "POST", "/v1/customers", "customers", {"email": "a@example.com", "metadata[k]": "v"}
    )
    await checked("GET", f"/v1/customers/{customer['id']}", "customer")
    await checked("DELETE", f"/v1/customers/{customer['id']}", "customer")
    await checked("GET", f"/v1/customers/{customer['id']}", "deleted customer")
    await checked("DELETE", f"/v1/customers/{customer['id']}", "customer again")
    intent = await checked(
        "POST",
        "/v1/payment_intents",
        "payment_intents",
        {"amount": "500", "currency": "usd", "customer": "cus_x"},
    )
    intent = await checked(
        "POST", "/v1/payment_intents", "payment_intents", {"amount": "500", "currency": "usd"}
    )
    await checked("GET", f"/v1/payment_intents/{intent['id']}", "intent")
    await checked(
        "POST",
        f"/v1/payment_intents/{intent['id']}/confirm",
        "confirm",
        {"payment_method": "pm_card_chargeDeclined"},
    )
    await checked(
        "POST",
        f"/v1/payment_intents/{intent['id']}/confirm",
        "confirm",
        {"payment_method": "pm_card_visa"},
    )
    await checked(
        "POST", "/v1/refunds", "refunds", {"payment_intent": intent["id"], "amount": "100"}
    )
    await checked("POST", f"/v1/payment_intents/{intent['id']}/cancel", "cancel")
    held = await checked(
        "POST",
        "/v1/payment_intents",
        "payment_intents",
        {
            "amount": "500",
            "currency": "usd",
            "capture_method": "manual",
            "payment_method": "pm_card_visa",
        },
    )
    await checked("POST", f"/v1/payment_intents/{held['id']}/confirm", "confirm")
    await checked("POST", f"/v1/payment_intents/{held['id']}/capture", "capture")
    link = await checked(
        "POST",
        "/v1/payment_links",
        "payment_links",
        {"line_items[0][price]": "price_1", "line_items[0][quantity]": "1"},
    )
    await checked(
        "POST",
        "/v1/payment_links",
        "payment_links",
        {
            "line_items[0][price]": "price_1",
            "line_items[0][quantity]": "1",
            "after_completion[type]": "redirect",
            "after_completion[redirect][url]": "https://example.com/done",
        },
    )
    await checked("POST", f"/v1/payment_links/{link['id']}", "payment_link", {"active": "false"})
    await checked("POST", "/v1/payment_links/plink_nothere", "payment_link", {"active": "false"})
    statuses = {status for _, _, status in seen}
    assert statuses == {200, 400, 402, 404}


@faulty(status=503, at="POST /v1/payment_intents", times=1)
async def test_a_status_fault_acts_on_nothing_and_a_resend_acts_once(rig: Rig) -> None:
    payload = CreatePaymentIntent(amount=100, currency="usd")
    assert (await rig.adapter.health_check()).ok  # a GET is not covered
    with pytest.raises(VendorUnavailable) as failed:
        await rig.run("create_payment_intent", payload, marker="a" * 64)
    assert (failed.value.metadata["vendor_status"], failed.value.metadata["vendor_code"]) == (
        "503",
        "sandbox_fault",
    )
    assert rig.sandbox.received("acme") == []
    created = await rig.run("create_payment_intent", payload, marker="a" * 64)
    assert rig.events() == ["payment_intent.created"]
    assert created["status"] == "requires_payment_method"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, VendorRejected),
        (401, VendorAuthFailed),
        (402, VendorRejected),
        (429, VendorRateLimited),
        (500, VendorError),
    ],
)
async def test_each_injected_status_maps_as_stripes_own_would(
    status: int, error: type[GatewayError]
) -> None:
    async with serving(StripeSandbox(SandboxFault(status=status, at="/v1/customers"))) as sandbox:
        adapter = StripeAdapter(sandbox.account_for("acme"))
        try:
            with pytest.raises(error) as raised:
                await adapter.execute("create_customer", CreateCustomer(), attempt(marker="a" * 64))
            assert raised.value.metadata["vendor_status"] == str(status)
            assert sandbox.received("acme") == []
        finally:
            await adapter.shutdown()


@faulty(drop=True, at="POST /v1/customers", times=1)
async def test_a_dropped_answer_is_settled_by_the_same_key(rig: Rig) -> None:
    payload = CreateCustomer(email="lost@example.com")
    with pytest.raises(VendorUnavailable) as dropped:
        await rig.run("create_customer", payload, marker="d" * 64)
    assert dropped.value.may_have_acted
    [made] = rig.sandbox.received("acme")  # it acted; the answer was lost
    settled = await rig.run("create_customer", payload, marker="d" * 64)
    assert settled["id"] == made["id"]
    assert rig.events() == ["customer.created"]
