"""The Stripe adapter against a stateful fake Stripe on loopback, a recorder in between: the
requests each operation and undo sends (checked against Stripe's published description),
what comes back, how Stripe's errors map, the probe, and the key kept out of every error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

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
from gateway.contract import AttemptContext
from gateway.errors import (
    DeadlineExceeded,
    ExecutionResultMissing,
    GatewayError,
    Internal,
    InvalidPayload,
    NotConfigured,
    UnknownOperation,
    VendorAuthFailed,
    VendorError,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from tests.adapters.stripe.fake_stripe import FakeStripe, body_of, fake_stripe, stripe_error
from tests.support.vendor_adapters import attempt, initialized
from tests.support.vendor_recorder import RecordedRequest, VendorRecorder
from tests.support.vendor_schema import VendorSchema

KEY = "sk_test_FakeKey4242424242"
MARKER = "a" * 64
SPEC = "stripe/spec3.trimmed.yaml"


def ctx(marker: str = MARKER, timeout_s: float = 5.0) -> AttemptContext:
    return attempt(marker=marker, timeout_s=timeout_s)


@dataclass
class Rig:
    stripe: FakeStripe
    recorder: VendorRecorder
    adapter: StripeAdapter

    async def run(self, operation: str, payload: BaseModel, marker: str = MARKER) -> Any:
        return dict(await self.adapter.execute(operation, payload, ctx(marker)))

    def sent(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.recorder.requests]

    def checked(self) -> list[RecordedRequest]:
        """Every request sent, each valid by Stripe's description and carrying the pinned
        version and the key; only POSTs carry the marker."""
        schema = VendorSchema.load(SPEC)
        for request in self.recorder.requests:
            schema.check(request)
            assert request.headers["Authorization"] == f"Bearer {KEY}"
            assert request.headers["Stripe-Version"] == "2023-08-16"
            assert request.headers.get("Idempotency-Key") == (
                MARKER if request.method == "POST" else None
            )
        return self.recorder.requests


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with (
        fake_stripe(KEY) as stripe,
        VendorRecorder(stripe.url) as recorder,
        initialized(StripeAdapter(StripeAccount(api_key=KEY, base_url=recorder.url))) as adapter,
    ):
        yield Rig(stripe, recorder, adapter)


async def test_create_customer_sends_its_fields_and_returns_the_customer(rig: Rig) -> None:
    payload = CreateCustomer(
        email="ada@example.com",
        name="Ada Lovelace",
        phone="+14155550123",
        metadata={"crm_id": "42"},
    )
    result = await rig.run("create_customer", payload)
    [request] = rig.checked()
    assert (request.method, request.path, request.content_type) == (
        "POST",
        "/v1/customers",
        "application/x-www-form-urlencoded",
    )
    assert request.form() == [
        ("email", "ada@example.com"),
        ("name", "Ada Lovelace"),
        ("phone", "+14155550123"),
        ("metadata[crm_id]", "42"),
    ]
    [(_, customer)] = rig.stripe.effects
    assert result["id"] == customer
    assert result["email"] == "ada@example.com"
    assert result["metadata"] == {"crm_id": "42"}


async def test_a_payment_intent_is_created_unconfirmed_and_read_without_its_secret(
    rig: Rig,
) -> None:
    created = await rig.run(
        "create_payment_intent",
        CreatePaymentIntent(amount=2000, currency="usd", metadata={"order": "A-1"}),
    )
    read = await rig.run("get_payment_intent", GetPaymentIntent(payment_intent=created["id"]))
    post, get = rig.checked()
    assert body_of(post.body) == {"amount": "2000", "currency": "usd", "metadata[order]": "A-1"}
    assert (get.method, get.path, get.body) == ("GET", f"/v1/payment_intents/{created['id']}", b"")
    assert read["status"] == created["status"] == "requires_payment_method"
    assert (read["amount"], read["currency"]) == (2000, "usd")
    assert "client_secret" not in created
    assert "client_secret" not in read


async def test_cancel_and_refund_send_their_reasons(rig: Rig) -> None:
    first = await rig.run("create_payment_intent", CreatePaymentIntent(amount=500, currency="eur"))
    canceled = await rig.run(
        "cancel_payment_intent",
        CancelPaymentIntent(payment_intent=first["id"], cancellation_reason="duplicate"),
        marker="b" * 64,
    )
    second = await rig.run(
        "create_payment_intent", CreatePaymentIntent(amount=700, currency="eur"), "c" * 64
    )
    rig.stripe.settle(second["id"])
    refund = await rig.run(
        "create_refund",
        CreateRefund(payment_intent=second["id"], amount=300, reason="requested_by_customer"),
        marker="d" * 64,
    )
    schema = VendorSchema.load(SPEC)
    for request in rig.recorder.requests:
        schema.check(request)
    cancel, refunded = rig.recorder.requests[1], rig.recorder.requests[3]
    assert cancel.path == f"/v1/payment_intents/{first['id']}/cancel"
    assert body_of(cancel.body) == {"cancellation_reason": "duplicate"}
    assert cancel.headers["Idempotency-Key"] == "b" * 64
    assert body_of(refunded.body) == {
        "payment_intent": second["id"],
        "amount": "300",
        "reason": "requested_by_customer",
    }
    assert canceled["status"] == "canceled"
    assert (refund["status"], refund["amount"], refund["payment_intent"]) == (
        "succeeded",
        300,
        second["id"],
    )


async def test_a_payment_link_nests_its_line_items_and_redirect(rig: Rig) -> None:
    payload = CreatePaymentLink(
        line_items=[LineItem(price="price_1", quantity=2), LineItem(price="price_2", quantity=1)],
        redirect_url="https://shop.example.com/thanks",
        metadata={"campaign": "spring"},
    )
    result = await rig.run("create_payment_link", payload)
    [request] = rig.checked()
    assert request.form() == [
        ("line_items[0][price]", "price_1"),
        ("line_items[0][quantity]", "2"),
        ("line_items[1][price]", "price_2"),
        ("line_items[1][quantity]", "1"),
        ("metadata[campaign]", "spring"),
        ("after_completion[type]", "redirect"),
        ("after_completion[redirect][url]", "https://shop.example.com/thanks"),
    ]
    assert result["active"] is True
    assert result["url"].startswith("https://buy.stripe.com/")


async def test_deactivating_a_link_posts_active_false(rig: Rig) -> None:
    link = await rig.run(
        "create_payment_link",
        CreatePaymentLink(line_items=[LineItem(price="price_1", quantity=1)]),
        marker="b" * 64,
    )
    result = await rig.run(
        "deactivate_payment_link", DeactivatePaymentLink(payment_link=link["id"])
    )
    request = rig.recorder.last()
    VendorSchema.load(SPEC).check(request)
    assert (request.method, request.path, request.form()) == (
        "POST",
        f"/v1/payment_links/{link['id']}",
        [("active", "false")],
    )
    assert result["active"] is False


async def test_deleting_a_customer_twice_finds_it_deleted_the_second_time(rig: Rig) -> None:
    customer = await rig.run("create_customer", CreateCustomer(name="Ada"), marker="b" * 64)
    first = await rig.run("delete_customer", DeleteCustomer(customer=customer["id"]))
    again = await rig.run("delete_customer", DeleteCustomer(customer=customer["id"]))
    assert first == again == {"id": customer["id"], "deleted": True}
    path = f"/v1/customers/{customer['id']}"
    assert rig.sent()[1:] == [("DELETE", path), ("DELETE", path), ("GET", path)]
    assert [e for e, _ in rig.stripe.effects] == ["customer_created", "customer_deleted"]
    schema = VendorSchema.load(SPEC)
    for request in rig.recorder.requests[1:]:
        schema.check(request)
        assert "Idempotency-Key" not in request.headers


async def test_deleting_a_customer_that_never_existed_is_rejected(rig: Rig) -> None:
    with pytest.raises(VendorRejected) as caught:
        await rig.run("delete_customer", DeleteCustomer(customer="cus_Nobody"))
    assert caught.value.metadata["vendor_code"] == "resource_missing"
    assert caught.value.metadata["vendor_status"] == "404"


# --- the undo of a PaymentIntent ------------------------------------------------------------


async def test_an_uncaptured_intent_is_undone_by_canceling_it(rig: Rig) -> None:
    created = await rig.run(
        "create_payment_intent", CreatePaymentIntent(amount=900, currency="usd"), "b" * 64
    )
    undone = await rig.adapter.compensate("reverse_payment_intent", created, ctx())
    assert dict(undone) == {
        "payment_intent": created["id"],
        "action": "canceled",
        "status": "canceled",
        "refund": None,
    }
    assert rig.sent()[1:] == [
        ("GET", f"/v1/payment_intents/{created['id']}"),
        ("POST", f"/v1/payment_intents/{created['id']}/cancel"),
    ]
    assert rig.recorder.last().headers["Idempotency-Key"] == MARKER
    assert rig.recorder.last().body == b""


async def test_a_captured_intent_is_undone_by_a_full_refund(rig: Rig) -> None:
    created = await rig.run(
        "create_payment_intent", CreatePaymentIntent(amount=900, currency="usd"), "b" * 64
    )
    rig.stripe.settle(created["id"])
    undone = await rig.run(
        "reverse_payment_intent", ReversePaymentIntent(payment_intent=created["id"])
    )
    [refund] = rig.stripe.refunds
    assert undone == {
        "payment_intent": created["id"],
        "action": "refunded",
        "status": "succeeded",
        "refund": refund,
    }
    assert rig.sent()[1:] == [
        ("GET", f"/v1/payment_intents/{created['id']}"),
        ("POST", "/v1/refunds"),
    ]
    assert body_of(rig.recorder.last().body) == {"payment_intent": created["id"]}
    assert rig.stripe.refunds[refund]["amount"] == 900


async def test_a_canceled_intent_needs_nothing(rig: Rig) -> None:
    created = await rig.run(
        "create_payment_intent", CreatePaymentIntent(amount=900, currency="usd"), "b" * 64
    )
    await rig.run(
        "cancel_payment_intent", CancelPaymentIntent(payment_intent=created["id"]), "c" * 64
    )
    undone = await rig.adapter.compensate("reverse_payment_intent", created, ctx())
    assert (undone["action"], undone["status"]) == ("none", "canceled")
    assert rig.sent()[-1] == ("GET", f"/v1/payment_intents/{created['id']}")


async def test_an_undo_whose_original_result_lacks_the_id_sends_nothing(rig: Rig) -> None:
    with pytest.raises(ExecutionResultMissing):
        await rig.adapter.compensate("delete_customer", {"email": "x@example.com"}, ctx())
    with pytest.raises(ExecutionResultMissing):
        await rig.adapter.compensate("delete_customer", {"id": "cus_1/../balance"}, ctx())
    assert rig.recorder.requests == []


# --- Stripe's idempotency --------------------------------------------------------------------


async def test_the_same_marker_again_is_answered_from_stripes_store(rig: Rig) -> None:
    payload = CreatePaymentIntent(amount=2000, currency="usd")
    first = await rig.run("create_payment_intent", payload)
    again = await rig.run("create_payment_intent", payload)
    assert first == again
    assert len(rig.stripe.intents) == 1
    assert rig.stripe.replays == 1


async def test_the_same_marker_with_another_payload_is_rejected_saying_so(rig: Rig) -> None:
    await rig.run("create_customer", CreateCustomer(name="Ada"))
    with pytest.raises(VendorRejected) as caught:
        await rig.run("create_customer", CreateCustomer(name="Grace"))
    error = caught.value
    assert error.metadata["vendor_code"] == "idempotency_error"
    assert error.metadata["vendor_status"] == "400"
    assert "new idempotency key" in error.message
    assert len(rig.stripe.customers) == 1


async def test_the_same_marker_while_the_first_runs_may_be_acting(rig: Rig) -> None:
    rig.stripe.hold()
    payload = CreateCustomer(name="Ada")
    first = asyncio.create_task(rig.run("create_customer", payload))
    await rig.stripe.held.wait()
    with pytest.raises(VendorUnavailable) as caught:
        await rig.run("create_customer", payload)
    rig.stripe.release()
    created = await first
    assert caught.value.may_have_acted is True
    assert caught.value.metadata["vendor_code"] == "idempotency_key_in_use"
    assert rig.stripe.effects == [("customer_created", created["id"])]


async def test_a_post_without_a_marker_is_never_sent(rig: Rig) -> None:
    with pytest.raises(Internal):
        await rig.run("create_customer", CreateCustomer(name="Ada"), marker="")
    assert rig.recorder.requests == []


# --- Stripe's errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_type", "code"),
    [
        (
            400,
            stripe_error("invalid_request_error", "Missing", "parameter_missing", param="amount"),
            {},
            VendorRejected,
            "parameter_missing",
        ),
        (
            402,
            stripe_error(
                "card_error", "Declined", "card_declined", decline_code="insufficient_funds"
            ),
            {},
            VendorRejected,
            "card_declined",
        ),
        (
            401,
            stripe_error("invalid_request_error", "Invalid API Key"),
            {},
            VendorAuthFailed,
            "invalid_request_error",
        ),
        (
            403,
            stripe_error("invalid_request_error", "Restricted key"),
            {},
            VendorAuthFailed,
            "invalid_request_error",
        ),
        (
            404,
            stripe_error("invalid_request_error", "No such", "resource_missing"),
            {},
            VendorRejected,
            "resource_missing",
        ),
        (
            429,
            stripe_error("invalid_request_error", "Too many", "rate_limit"),
            {"Retry-After": "2"},
            VendorRateLimited,
            "rate_limit",
        ),
        (500, stripe_error("api_error", "Something went wrong"), {}, VendorError, "api_error"),
        (503, None, {}, VendorUnavailable, None),
    ],
    ids=["400", "402-card", "401", "403", "404", "429", "500", "503"],
)
async def test_stripe_errors_map_to_the_gateways_keeping_stripes_code(
    rig: Rig,
    status: int,
    body: Any,
    headers: dict[str, str],
    error_type: type[GatewayError],
    code: str | None,
) -> None:
    rig.stripe.fail_next(status, body, headers)
    with pytest.raises(GatewayError) as caught:
        await rig.run("get_payment_intent", GetPaymentIntent(payment_intent="pi_1"))
    error = caught.value
    assert type(error) is error_type
    assert error.metadata["vendor_status"] == str(status)
    assert error.metadata.get("vendor_code") == code
    if status == 429:
        assert error.retry_after_ms == 2000
    assert "stripe answered" in error.message


async def test_the_key_stripe_echoes_never_reaches_an_error(tmp_path: Path) -> None:
    async with fake_stripe("sk_test_TheRightKey") as stripe:
        adapter = StripeAdapter(StripeAccount(api_key=KEY, base_url=stripe.url))
        await adapter.initialize()
        try:
            with pytest.raises(VendorAuthFailed) as caught:
                await adapter.execute("create_customer", CreateCustomer(name="Ada"), ctx())
            probe = await adapter.health_check()
        finally:
            await adapter.shutdown()
    error = caught.value
    assert "Invalid API Key provided" in error.metadata["vendor_message"]
    assert probe.error is not None
    for text in (str(error), repr(error.metadata), probe.detail, repr(probe.error.metadata)):
        assert KEY not in text
        assert KEY.removeprefix("sk_") not in text


async def test_an_answer_without_an_id_may_have_acted(rig: Rig) -> None:
    rig.stripe.fail_next(200, {"object": "customer"})
    with pytest.raises(GatewayError) as caught:
        await rig.run("create_customer", CreateCustomer(name="Ada"))
    assert caught.value.reason == "VENDOR_BAD_RESPONSE"
    assert caught.value.may_have_acted is True
    assert "id" in caught.value.message


async def test_no_time_left_sends_nothing(rig: Rig) -> None:
    with pytest.raises(DeadlineExceeded):
        await rig.adapter.execute(
            "get_payment_intent", GetPaymentIntent(payment_intent="pi_1"), ctx(timeout_s=0)
        )
    assert rig.recorder.requests == []


async def test_a_payload_of_another_operation_or_an_unknown_operation_is_refused(rig: Rig) -> None:
    with pytest.raises(InvalidPayload):
        await rig.run("create_customer", GetPaymentIntent(payment_intent="pi_1"))
    with pytest.raises(UnknownOperation):
        await rig.run("create_charge", GetPaymentIntent(payment_intent="pi_1"))
    assert rig.recorder.requests == []


# --- configuration and the probe -------------------------------------------------------------


async def test_the_probe_reads_the_balance(rig: Rig) -> None:
    probe = await rig.adapter.health_check()
    assert probe.ok, probe
    [request] = rig.recorder.requests
    assert (request.method, request.path) == ("GET", "/v1/balance")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Stripe-Version"] == "2023-08-16"


async def test_a_failing_probe_names_the_reason_and_never_stripes_words(rig: Rig) -> None:
    rig.stripe.fail_next(401, stripe_error("invalid_request_error", "Invalid API Key provided"))
    probe = await rig.adapter.health_check()
    assert not probe.ok
    assert isinstance(probe.error, VendorAuthFailed)
    assert probe.detail == (
        "stripe: GET /v1/balance failed: VENDOR_AUTH_FAILED "
        "(vendor_status 401, vendor_code invalid_request_error)"
    )


async def test_a_probe_that_cannot_connect_fails_at_connect() -> None:
    async with fake_stripe(KEY) as stripe:
        closed_url = stripe.url
    adapter = StripeAdapter(StripeAccount(api_key=KEY, base_url=closed_url))
    await adapter.initialize()
    try:
        probe = await adapter.health_check()
    finally:
        await adapter.shutdown()
    assert not probe.ok
    assert isinstance(probe.error, VendorUnavailable)
    assert probe.error.metadata["phase"] == "connect"


async def test_the_key_can_come_from_a_file_and_the_version_is_pinned(tmp_path: Path) -> None:
    key_file = tmp_path / "stripe.key"
    key_file.write_text(f"{KEY}\n", encoding="utf-8")
    async with fake_stripe(KEY) as stripe, VendorRecorder(stripe.url) as recorder:
        account = StripeAccount(
            api_key_file=key_file, base_url=recorder.url, api_version="2024-06-20"
        )
        adapter = StripeAdapter(account)
        await adapter.initialize()
        try:
            assert (await adapter.health_check()).ok
        finally:
            await adapter.shutdown()
    assert recorder.last().headers["Stripe-Version"] == "2024-06-20"


@pytest.mark.parametrize(
    ("account", "named"),
    [
        ({"api_key": "pk_test_Publishable"}, "publishable key"),
        ({"api_key_file": "missing.key"}, "cannot read api_key_file"),
    ],
)
async def test_an_unusable_key_stops_the_start_naming_the_setting(
    tmp_path: Path, account: dict[str, Any], named: str
) -> None:
    if "api_key_file" in account:
        account = {"api_key_file": tmp_path / account["api_key_file"]}
    adapter = StripeAdapter(StripeAccount(**account))
    with pytest.raises(NotConfigured) as caught:
        await adapter.initialize()
    assert named in caught.value.message
    assert "Publishable" not in caught.value.message


async def test_an_account_without_a_key_is_not_configured() -> None:
    adapter = StripeAdapter(StripeAccount())
    await adapter.initialize()
    assert adapter.configured is False
    probe = await adapter.health_check()
    assert (probe.ok, probe.error.reason if probe.error else "") == (
        False,
        "CONNECTOR_NOT_CONFIGURED",
    )
