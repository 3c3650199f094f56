"""Stripe's error bodies read into (code, message), and its idempotency errors into what
they mean for the action."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.stripe.errors import stripe_error, translated
from gateway.errors import GatewayError, VendorAuthFailed, VendorRejected, VendorUnavailable


def body(**error: str) -> dict[str, Any]:
    return {"error": error}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            body(
                type="card_error",
                code="card_declined",
                decline_code="insufficient_funds",
                message="Your card has insufficient funds.",
            ),
            (
                "card_declined",
                "Your card has insufficient funds. (decline_code: insufficient_funds)",
            ),
        ),
        (
            body(
                type="invalid_request_error",
                code="parameter_missing",
                param="amount",
                message="Missing required param: amount.",
            ),
            ("parameter_missing", "Missing required param: amount. (param: amount)"),
        ),
        (
            body(type="invalid_request_error", message="Invalid API Key provided: sk_test_****"),
            ("invalid_request_error", "Invalid API Key provided: sk_test_****"),
        ),
        (
            body(type="idempotency_error", message="Keys for idempotent requests can only ..."),
            ("idempotency_error", "Keys for idempotent requests can only ..."),
        ),
        (
            body(type="idempotency_error", code="idempotency_key_in_use", message="in progress"),
            ("idempotency_key_in_use", "in progress"),
        ),
        (body(type="api_error"), ("api_error", "")),
        ("<html>Bad gateway</html>", ("", "<html>Bad gateway</html>")),
        (None, ("", "")),
        ({"unexpected": True}, ("", "")),
    ],
    ids=["card", "param", "auth", "key-reused", "key-in-use", "no-message", "html", "empty", "odd"],
)
def test_stripe_error_bodies_give_the_code_and_the_message(
    answer: Any, expected: tuple[str, str]
) -> None:
    assert stripe_error(402, answer) == expected


def rejected(code: str) -> VendorRejected:
    return VendorRejected(
        "stripe answered 4xx", metadata={"vendor_status": "409", "vendor_code": code}
    )


def test_a_key_still_in_use_may_be_acting_and_is_worth_retrying() -> None:
    error = translated(rejected("idempotency_key_in_use"), "POST /v1/customers")
    assert isinstance(error, VendorUnavailable)
    assert (error.may_have_acted, error.retryable) == (True, True)
    assert error.metadata["vendor_code"] == "idempotency_key_in_use"


def test_a_key_holding_another_request_is_rejected_and_says_to_use_a_new_key() -> None:
    error = translated(rejected("idempotency_error"), "POST /v1/customers")
    assert isinstance(error, VendorRejected)
    assert error.may_have_acted is False
    assert "new idempotency key" in error.message
    assert error.metadata == {"vendor_status": "409", "vendor_code": "idempotency_error"}


def test_other_errors_pass_unchanged() -> None:
    errors: list[GatewayError] = [rejected("card_declined"), VendorAuthFailed("no")]
    for error in errors:
        assert translated(error, "GET /v1/balance") is error
