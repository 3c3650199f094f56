"""Every request the connector makes of Stripe, over the shared HTTP client.

Each POST carries the attempt's marker as ``Idempotency-Key`` (a compensation's marker for an
undo), so the same request sent again is answered by Stripe from what it stored the first
time. GET and DELETE carry none: Stripe ignores keys on them, and both are safe to repeat.
One attempt's requests share its time: each gets what is left of ``ctx.timeout_s``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from adapters.http import VendorHttpClient, VendorResponse
from adapters.shared.payloads import PayloadModel
from gateway.contract import AttemptContext
from gateway.errors import GatewayError, Internal, VendorRejected

from .errors import translated
from .form import FormValue, encode
from .operations import (
    CancelPaymentIntent,
    CreateCustomer,
    CreatePaymentIntent,
    CreatePaymentLink,
    CreateRefund,
)
from .results import (
    CustomerDeleted,
    CustomerResult,
    PaymentIntentResult,
    PaymentIntentReversed,
    PaymentLinkResult,
    R,
    RefundResult,
    read_result,
)

BALANCE_PATH = "/v1/balance"
# The two PaymentIntent states that cannot be canceled: one whose money was captured is
# refunded instead, one already canceled needs nothing.
_SUCCEEDED = "succeeded"
_CANCELED = "canceled"


@dataclass(frozen=True)
class Exchange:
    """One attempt at Stripe: its context and the moment its time runs out."""

    ctx: AttemptContext
    ends_at: float

    @classmethod
    def of(cls, ctx: AttemptContext) -> Exchange:
        return cls(ctx, time.monotonic() + ctx.timeout_s)

    def remaining_s(self) -> float:
        return max(0.0, self.ends_at - time.monotonic())


def _segment(stripe_id: str) -> str:
    return quote(stripe_id, safe="")


class StripeApi:
    def __init__(self, client: VendorHttpClient) -> None:
        self._client = client

    async def close(self) -> None:
        """Closes the HTTP session. Never raises."""
        await self._client.close()

    # --- the operations ------------------------------------------------------------------

    async def get_payment_intent(self, intent: str, x: Exchange) -> PaymentIntentResult:
        return await self._read(f"/v1/payment_intents/{_segment(intent)}", PaymentIntentResult, x)

    async def create_customer(self, payload: CreateCustomer, x: Exchange) -> CustomerResult:
        return await self._post("/v1/customers", _params(payload), CustomerResult, x)

    async def create_payment_intent(
        self, payload: CreatePaymentIntent, x: Exchange
    ) -> PaymentIntentResult:
        return await self._post("/v1/payment_intents", _params(payload), PaymentIntentResult, x)

    async def cancel_payment_intent(
        self, payload: CancelPaymentIntent, x: Exchange
    ) -> PaymentIntentResult:
        path = f"/v1/payment_intents/{_segment(payload.payment_intent)}/cancel"
        params = {"cancellation_reason": payload.cancellation_reason}
        return await self._post(path, params, PaymentIntentResult, x)

    async def create_refund(self, payload: CreateRefund, x: Exchange) -> RefundResult:
        return await self._post("/v1/refunds", _params(payload), RefundResult, x)

    async def create_payment_link(
        self, payload: CreatePaymentLink, x: Exchange
    ) -> PaymentLinkResult:
        params: dict[str, FormValue] = {
            "line_items": [item.model_dump() for item in payload.line_items],
            "metadata": payload.metadata,
        }
        if payload.redirect_url is not None:
            params["after_completion"] = {
                "type": "redirect",
                "redirect": {"url": payload.redirect_url},
            }
        return await self._post("/v1/payment_links", params, PaymentLinkResult, x)

    # --- the undos -----------------------------------------------------------------------

    async def deactivate_payment_link(self, link: str, x: Exchange) -> PaymentLinkResult:
        path = f"/v1/payment_links/{_segment(link)}"
        return await self._post(path, {"active": False}, PaymentLinkResult, x)

    async def delete_customer(self, customer: str, x: Exchange) -> CustomerDeleted:
        """Deletes the customer. Stripe answers a second DELETE 404; the customer then reads
        as deleted, which counts as done (a repeat after a lost answer lands here)."""
        path = f"/v1/customers/{_segment(customer)}"
        try:
            answer = await self._send("DELETE", path, x)
        except VendorRejected as missing:
            if missing.metadata.get("vendor_status") != "404":
                raise
            if not await self._reads_as_deleted(path, x):
                raise
            return CustomerDeleted(id=customer, deleted=True)
        return read_result(CustomerDeleted, answer, f"DELETE {path}")

    async def reverse_payment_intent(self, intent: str, x: Exchange) -> PaymentIntentReversed:
        """Reads the intent's status, then cancels it (nothing captured), refunds it in full
        (succeeded) or leaves it (already canceled)."""
        current = await self.get_payment_intent(intent, x)
        if current.status == _CANCELED:
            return PaymentIntentReversed(payment_intent=intent, action="none", status=_CANCELED)
        if current.status == _SUCCEEDED:
            refund = await self._post("/v1/refunds", {"payment_intent": intent}, RefundResult, x)
            return PaymentIntentReversed(
                payment_intent=intent, action="refunded", status=_SUCCEEDED, refund=refund.id
            )
        # requires_* or processing: Stripe cancels it, or refuses with its reason.
        path = f"/v1/payment_intents/{_segment(intent)}/cancel"
        canceled = await self._post(path, {}, PaymentIntentResult, x)
        return PaymentIntentReversed(
            payment_intent=intent, action="canceled", status=canceled.status
        )

    # --- the probe -----------------------------------------------------------------------

    async def read_balance(self, timeout_s: float) -> None:
        """The cheapest authenticated read: proves the key and the way to Stripe."""
        await self._client.request("GET", BALANCE_PATH, timeout_s=timeout_s)

    # --- one request ---------------------------------------------------------------------

    async def _read(self, path: str, model: type[R], x: Exchange) -> R:
        return read_result(model, await self._send("GET", path, x), f"GET {path}")

    async def _post(
        self, path: str, params: Mapping[str, FormValue], model: type[R], x: Exchange
    ) -> R:
        answer = await self._send("POST", path, x, params)
        return read_result(model, answer, f"POST {path}")

    async def _reads_as_deleted(self, path: str, x: Exchange) -> bool:
        try:
            answer = await self._send("GET", path, x)
        except VendorRejected:
            return False
        return isinstance(answer.body, dict) and answer.body.get("deleted") is True

    async def _send(
        self,
        method: Literal["GET", "POST", "DELETE"],
        path: str,
        x: Exchange,
        params: Mapping[str, FormValue] | None = None,
    ) -> VendorResponse:
        key: str | None = None
        if method == "POST":
            if not x.ctx.marker:  # every write has one; without it a repeat could act twice
                raise Internal(f"stripe: no idempotency marker for POST {path}; not sent")
            key = x.ctx.marker
        try:
            return await self._client.request(
                method,
                path,
                timeout_s=x.remaining_s(),
                form=encode(params or {}) if method == "POST" else None,
                idempotency_key=key,
                contact=x.ctx.contact,
            )
        except GatewayError as error:
            raise translated(error, f"{method} {path}") from None


def _params(payload: PayloadModel) -> dict[str, FormValue]:
    """A payload's fields as Stripe's parameters of the same names."""
    fields: dict[str, FormValue] = payload.model_dump(mode="json", exclude_none=True)
    return fields
